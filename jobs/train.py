"""avm train train=audio|visual [+experiment=NAME]: self-supervised contrastive training of an embedder, then a
held-out evaluation."""

import json
import logging
import os

# Before torch starts its threads: on a CPU shared with decoders, spinning OpenMP threads that wait for a core
# make small tensor ops many times slower; passive waiting costs nothing when the cores are free.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from avm.config import CONFIG_DIR, to_options  # noqa: E402
from avm.train import TrainConfig, format_results, run  # noqa: E402
from jobs.errors import reported  # noqa: E402
from jobs.schemas import register_configs  # noqa: E402

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
@reported("train")
def main(cfg: DictConfig) -> None:
    logging.getLogger("avm").setLevel(logging.INFO)
    summary = run(to_options(cfg, TrainConfig))
    shown = {k: v for k, v in summary.items() if k not in ("config", "heldout", "data")}
    print(json.dumps(shown, indent=2, default=str))
    if "heldout" in summary:
        print(format_results(summary["heldout"]))


if __name__ == "__main__":
    main()

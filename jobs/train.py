"""avm train train=audio|visual: self-supervised contrastive training of an embedder, then a held-out evaluation."""

import json
import logging
import os

# Before torch starts its threads: on a CPU shared with decoders, spinning OpenMP threads that wait for a core
# make small tensor ops many times slower; passive waiting costs nothing when the cores are free.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from avm.pipeline.options import train_job  # noqa: E402
from avm.train import run  # noqa: E402
from avm.train.retrieval import format_results  # noqa: E402
from jobs import CONFIG_DIR  # noqa: E402


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> None:
    logging.getLogger("avm").setLevel(logging.INFO)
    summary = run(train_job(cfg))
    shown = {k: v for k, v in summary.items() if k not in ("config", "heldout", "data")}
    print(json.dumps(shown, indent=2, default=str))
    if "heldout" in summary:
        print(format_results(summary["heldout"]))


if __name__ == "__main__":
    main()

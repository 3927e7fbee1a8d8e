"""avm ingest input=<manifest|dir|glob>: fingerprint files into the LanceDB catalog."""

import hydra
from omegaconf import DictConfig

from avm.manifest import read_inputs
from avm.pipeline.runner import ingest_from_config
from jobs import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="ingest")
def main(cfg: DictConfig) -> None:
    summary = ingest_from_config(cfg, read_inputs(str(cfg.input)))
    print("\n".join(summary.lines()))


if __name__ == "__main__":
    main()

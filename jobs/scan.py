"""avm scan queries=<manifest|dir|glob|catalog>: segment pairs of copies, as Parquet and hackathon CSV."""

import hydra
from omegaconf import DictConfig

from avm.manifest import read_inputs
from avm.pipeline.runner import scan_from_config
from jobs import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="scan")
def main(cfg: DictConfig) -> None:
    queries = None if str(cfg.queries) == "catalog" else read_inputs(str(cfg.queries))
    result = scan_from_config(cfg, queries, str(cfg.output_dir))
    print("\n".join(result.lines()))


if __name__ == "__main__":
    main()

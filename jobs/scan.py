"""avm scan queries=<manifest|dir|glob|catalog>: segment pairs of copies, as Parquet and hackathon CSV."""

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.manifest import read_inputs
from avm.pipeline.config import ScanConfig
from avm.pipeline.runner import scan
from jobs.errors import exit_if_every_file_failed, reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="scan")
@reported("scan")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, ScanConfig)
    if not job.queries:
        raise UserError("no queries given: use queries=<manifest|directory|glob>, or queries=catalog to scan the "
                        "whole catalog against itself")
    queries = None if job.queries == "catalog" else read_inputs(job.queries)
    result = scan(job, queries)
    print("\n".join(result.lines()))
    exit_if_every_file_failed("scan", result.queries, result.failed)


if __name__ == "__main__":
    main()

"""avm ingest input=<manifest|dir|glob>: fingerprint files into the LanceDB catalog."""

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.manifest import read_inputs
from avm.pipeline.config import IngestConfig
from avm.pipeline.runner import ingest
from jobs.errors import exit_if_every_file_failed, reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="ingest")
@reported("ingest")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, IngestConfig)
    summary = ingest(job, read_inputs(job.input))
    print("\n".join(summary.lines()))
    exit_if_every_file_failed("ingest", summary.files, summary.failures)


if __name__ == "__main__":
    main()

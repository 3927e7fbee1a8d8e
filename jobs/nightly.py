"""avm nightly input=<manifest|dir|glob>: the day's uploads decoded once, added to the catalog, scanned against it."""

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.manifest import read_inputs
from avm.pipeline.config import NightlyConfig
from avm.pipeline.runner import nightly
from jobs.errors import exit_if_every_file_failed, reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="nightly")
@reported("nightly")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, NightlyConfig)
    summary, result = nightly(job, read_inputs(job.input))
    print("\n".join(summary.lines() + result.lines()))
    exit_if_every_file_failed("nightly", summary.files, summary.failures)


if __name__ == "__main__":
    main()

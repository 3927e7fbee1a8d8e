"""avm fit-projection projection.modality=audio|visual projection.out=FILE.npz: fit the projection of compact
fingerprints on the modality's training media."""

import json
import logging

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.train.projection import ProjectionConfig, run
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="fit_projection")
@reported("fit-projection")
def main(cfg: DictConfig) -> None:
    logging.getLogger("avm").setLevel(logging.INFO)
    print(json.dumps(run(to_options(cfg, ProjectionConfig)), indent=2))


if __name__ == "__main__":
    main()

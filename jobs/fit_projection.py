"""avm fit-projection projection.modality=audio|visual projection.dim=32 projection.out=FILE.npz: fit the projection
of compact fingerprints on the modality's training media, or (``projection.source=catalog index.uri=...``) on the
catalog's stored fingerprints."""

import json
import logging

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.pipeline.compact import fit_catalog_projection
from avm.train.projection import run
from jobs.errors import reported
from jobs.schemas import FitProjectionConfig, register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="fit_projection")
@reported("fit-projection")
def main(cfg: DictConfig) -> None:
    logging.getLogger("avm").setLevel(logging.INFO)
    options = to_options(cfg, FitProjectionConfig)
    opts = options.projection
    if opts.source == "catalog":
        summary = fit_catalog_projection(options.model, options.index, opts.modality, opts.dim, opts.out,
                                         opts.max_vectors, opts.seed)
    else:  # training; to_options has checked the choices
        summary = run(options)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

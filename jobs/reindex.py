"""avm reindex [action=build|rollback|cleanup] model.<modality>.checkpoint=...: switch the catalog's models while
scans go on."""

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.pipeline.config import ReindexConfig
from avm.pipeline.reindex import run_reindex
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="reindex")
@reported("reindex")
def main(cfg: DictConfig) -> None:
    summary = run_reindex(to_options(cfg, ReindexConfig))
    print("\n".join(summary.lines()))


if __name__ == "__main__":
    main()

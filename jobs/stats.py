"""avm stats: what the catalog holds (videos, hours, models, rows, index coverage, bytes), printed and written to
<output>/stats.json."""

import json
import os

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.index import FingerprintStore
from avm.index.inventory import catalog_stats, stats_lines
from avm.pipeline.config import InventoryConfig
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="inventory")
@reported("stats")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, InventoryConfig)
    store = FingerprintStore(job.index)
    store.require_catalog(searchable=False)
    stats = catalog_stats(store)
    os.makedirs(job.output, exist_ok=True)
    path = os.path.join(job.output, "stats.json")
    with open(path, "w") as handle:
        json.dump(stats, handle, indent=1)
    print("\n".join([*stats_lines(stats), f"wrote {path}"]))


if __name__ == "__main__":
    main()

"""avm list [status=...]: the catalog's videos, printed and written to <output>/videos.parquet."""

import os

import hydra
import pyarrow.parquet as pq
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.index import FingerprintStore
from avm.index.inventory import video_list
from avm.pipeline.config import InventoryConfig
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="inventory")
@reported("list")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, InventoryConfig)
    store = FingerprintStore(job.index)
    store.require_catalog(searchable=False)
    videos = video_list(store, job.status)
    os.makedirs(job.output, exist_ok=True)
    path = os.path.join(job.output, "videos.parquet")
    pq.write_table(videos, path)
    frame = videos.to_pandas()
    frame["hours"] = frame.pop("duration").fillna(0) / 3600
    print(frame[["video_id", "status", "hours", "n_intervals", "model_versions", "error"]].head(job.limit)
          .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    shown = min(job.limit, len(frame))
    print(f"{len(frame)} videos ({shown} shown); all in {path}")


if __name__ == "__main__":
    main()

"""avm delete ids=[a,b] | manifest=<file|dir|glob> reason=... [dry_run=true]: take videos down for good."""

import hydra
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.index import FingerprintStore, delete_videos
from avm.manifest import read_inputs
from avm.pipeline.config import DeleteConfig
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="delete")
@reported("delete")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, DeleteConfig)
    ids = list(job.ids) + ([e.video_id for e in read_inputs(job.manifest)] if job.manifest else [])
    if not ids:
        raise UserError("nothing to delete: give ids=[id,...] or manifest=<file|dir|glob>")
    if not job.reason.strip():
        raise UserError("reason is required (it is kept in the audit table)")
    store = FingerprintStore(job.index)
    store.require_catalog(searchable=False)
    report = delete_videos(store, ids, job.reason, dry_run=job.dry_run, user=job.user)
    print("\n".join(report.lines()))
    if not report.found:
        raise UserError(f"none of the {len(ids)} ids is in the catalog")


if __name__ == "__main__":
    main()

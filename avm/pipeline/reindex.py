"""The reindex job: switch the catalog to another model version without stopping scans.

``build`` fingerprints every searchable video with the configured models into tables of their own version (on
Ray, resumable: a video already done is not done again; a projection fitted on the catalog's stored fingerprints
is derived from them instead, decoding nothing: :mod:`avm.pipeline.compact`), trains a fresh ANN index on them, catches up with
videos ingested meanwhile, and swaps the active versions in one commit under the commit lock. Scans search the
versions active when they started, so none mixes versions. ``rollback`` makes the previous versions active again;
``cleanup`` drops the tables of versions that are neither active nor previous.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field

from avm.config import check_values
from avm.errors import UserError
from avm.index import BatchedWriter, FingerprintStore, finalize
from avm.index.sql import sql_list
from avm.index.store import SETS_TABLE
from avm.pipeline.compact import derivable, derive_round
from avm.pipeline.config import ReindexConfig
from avm.pipeline.ingest import model_versions
from avm.pipeline.progress import Progress
from avm.pipeline.ray_adapter import iter_rows, map_stage, ray_session, rows_dataset
from avm.pipeline.rows import MediaRow
from avm.pipeline.stages import fingerprinting_stages
from avm.schema import fingerprint_table_name, segment_table_name

log = logging.getLogger(__name__)


@dataclass
class ReindexSummary:
    """What a reindex run did."""

    action: str
    before: dict[str, str] = field(default_factory=dict)  # active versions when it started
    after: dict[str, str] = field(default_factory=dict)
    fingerprinted: int = 0
    derived: dict[str, int] = field(default_factory=dict)  # modality → videos derived from stored fingerprints
    rounds: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)
    index: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"reindex {self.action}: active versions {self.before} → {self.after}"]
        if self.action == "build":
            derived = "".join(f"; {m}: {n} videos derived from stored fingerprints (no decoding)"
                              for m, n in self.derived.items())
            out.append(f"fingerprinted {self.fingerprinted} videos in {self.rounds} rounds ({self.wall_seconds:.1f} s)"
                       f"{derived}; rows written {self.rows_written}; index {self.index}")
        if self.dropped:
            out.append(f"dropped tables: {self.dropped}")
        out += [f"FAILED {v}: {e}" for v, e in self.failures]
        return out


def missing_videos(store: FingerprintStore, versions: dict[str, str]) -> list[tuple[str, str]]:
    """(video id, uri) of searchable videos that lack fingerprints of one of ``versions`` (modality → version)."""
    live = store.live_videos(["video_id", "uri"])
    done = [set(store.current_sets(m, v)) for m, v in versions.items()]
    return [(v, u) for v, u in zip(live["video_id"].to_pylist(), live["uri"].to_pylist(), strict=True)
            if not all(v in d for d in done)]


def run_reindex(cfg: ReindexConfig) -> ReindexSummary:
    """Run ``cfg.action`` on the catalog."""
    check_values(cfg)  # a caller from Python has not been through to_options
    store = FingerprintStore(cfg.index)
    store.require_catalog()
    summary = ReindexSummary(cfg.action, before=store.active_versions())
    if cfg.action == "rollback":
        _rollback(store)
    elif cfg.action == "cleanup":
        summary.dropped = _cleanup(store)
    else:
        _build(cfg, store, summary)
    summary.after = store.active_versions()
    return summary


def _build(cfg: ReindexConfig, store: FingerprintStore, summary: ReindexSummary) -> None:
    targets = {m: v for m, v in model_versions(cfg.model).items() if summary.before.get(m) != v}
    if not targets:
        log.info("reindex: the catalog is already indexed with the configured models %s", summary.before)
        return
    log.info("reindex: %s → %s", {m: summary.before.get(m) for m in targets}, targets)
    derived = derivable(cfg.model, summary.before, list(targets))
    decoded = {m: v for m, v in targets.items() if m not in derived}
    model = dataclasses.replace(cfg.model, modalities=tuple(decoded))
    progress = Progress("reindex", 0)
    writers = {m: BatchedWriter(store, {m: targets[m]}, cfg.write_batch_rows, activate=False) for m in derived}
    writer = BatchedWriter(store, decoded, cfg.write_batch_rows, activate=False)
    with ray_session(cfg.ray) if decoded else contextlib.nullcontext():
        for summary.rounds in range(1, cfg.catch_up_rounds + 1):
            for m, projection in derived.items():
                todo = {v for v, _ in missing_videos(store, {m: targets[m]})} - set(dict(summary.failures))
                if todo:
                    done, incomplete = derive_round(store, m, projection, targets[m], todo, writers[m])
                    summary.derived[m] = summary.derived.get(m, 0) + done
                    summary.failures += [(v, f"its stored {m} fingerprints are incomplete: ingest it again")
                                         for v in incomplete]
            failed = {v for v, _ in summary.failures}
            todo = [(v, u) for v, u in missing_videos(store, decoded) if v not in failed] if decoded else []
            if todo:
                progress.add_total(len(todo))
                log.info("reindex round %d: %d videos to fingerprint", summary.rounds, len(todo))
                dataset = rows_dataset([MediaRow(u, v) for v, u in todo])
                for stage in fingerprinting_stages(cfg.media, model, decode=cfg.ray.decode, embed=cfg.ray.embed):
                    dataset = map_stage(dataset, stage)
                for row in iter_rows(dataset):
                    if row.error:
                        summary.failures.append((row.video_id, row.error))
                    else:
                        writer.add(row.video_id, row.prints, content_hash=row.content_hash)
                        summary.fingerprinted += 1
                    progress.update(media_seconds=row.duration, failed=int(bool(row.error)))
                writer.flush()
            summary.index.update(finalize(store, targets))
            with store.lock.held():  # no ingest commits between the last check and the swap
                left = missing_videos(store, targets)
                if not left:
                    store.activate(targets)
                    break
            if summary.failures and all(v in dict(summary.failures) for v, _ in left):
                break
    for w in [writer, *writers.values()]:
        for m, rows in w.rows_written.items():
            summary.rows_written[m] = summary.rows_written.get(m, 0) + rows
    summary.wall_seconds = progress.elapsed
    if store.active_versions() != {**summary.before, **targets}:
        failed = ", ".join(v for v, _ in summary.failures[:5])
        raise UserError(f"reindex did not swap: {len(missing_videos(store, targets))} searchable videos still lack "
                        f"fingerprints of the new models (failed: {failed or 'none'}); fix or delete them and run "
                        "avm reindex again (it resumes)")


def _rollback(store: FingerprintStore) -> None:
    previous = store.previous_versions()
    if not previous:
        raise UserError("nothing to roll back to: the catalog has no previous model versions")
    with store.lock.held():
        left = missing_videos(store, previous)
        if left:
            raise UserError(f"{len(left)} searchable videos (e.g. {left[0][0]}) have no fingerprints of the previous "
                            f"versions {previous}: run avm reindex with those models instead (it does only them)")
        store.activate(previous)


def _cleanup(store: FingerprintStore) -> list[str]:
    keep = {**{f"{m}/{v}": (m, v) for m, v in store.previous_versions().items()},
            **{f"{m}/{v}": (m, v) for m, v in store.active_versions().items()}}
    kept_tables = {name(m, v) for m, v in keep.values() for name in (fingerprint_table_name, segment_table_name)}
    dropped = []
    with store.lock.held():
        for name in store.fingerprint_tables():
            if name not in kept_tables:
                store.db.drop_table(name)
                dropped.append(name)
        sets = store.table(SETS_TABLE)
        versions = sorted({v for _, v in keep.values()})
        if sets is not None and versions:
            predicate = f"model_version NOT IN {sql_list(versions)}"
            if sets.count_rows(predicate):
                sets.delete(predicate)
    store.refresh()
    return dropped

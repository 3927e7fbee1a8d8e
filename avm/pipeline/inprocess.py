"""The stages run in this process, without Ray: one file's fingerprints, one file matched against the catalog.

A failure is raised with its own type (e.g. :class:`avm.media.MediaError` for a file that is not media).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avm.index import FingerprintStore
from avm.manifest import default_video_id
from avm.match import calibrate_catalog
from avm.pipeline.config import MatchFileConfig
from avm.pipeline.ingest import model_versions
from avm.pipeline.rows import MediaRow
from avm.pipeline.stage import Row, Stage, run_stages
from avm.pipeline.stages import QueryStage, fingerprinting_stages
from avm.types import Fingerprints, Segment


def _raise_failure(row: Row) -> None:
    if row.error:
        raise row.cause if row.cause is not None else RuntimeError(row.error)


def fingerprint_file(stages: Sequence[Stage[Any, Any]], uri: str, video_id: str) -> dict[str, Fingerprints]:
    """One file's fingerprints per modality, by ``stages`` (:func:`fingerprinting_stages`; empty where the file lacks
    that stream); raises the file's failure. The stages are set up on first use and can be reused for the next
    file."""
    (row,) = run_stages(stages, [MediaRow(uri, video_id)])
    _raise_failure(row)
    return row.prints


def match_file(cfg: MatchFileConfig, uri: str) -> list[Segment]:
    """The segment pairs of one file against the catalog: decode, fingerprint, search, align, fuse."""
    modalities = cfg.model.modalities
    store = FingerprintStore(cfg.index)
    snapshot = store.require_catalog()
    store.check_versions(model_versions(cfg.model))
    printing = fingerprinting_stages(cfg.media, cfg.model, cfg.model.query_steps())
    (printed,) = run_stages(printing, [MediaRow(uri, default_video_id(uri))])
    _raise_failure(printed)
    calibration = calibrate_catalog(store, cfg.match.per_modality(modalities), cfg.search)
    query = QueryStage(cfg.index, snapshot, calibration, cfg.match.fuse, cfg.search, modalities)
    (result,) = run_stages([query], [printed])
    _raise_failure(result)
    return result.segments

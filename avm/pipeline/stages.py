"""The pipeline's stages: decode a file, fingerprint it, match a query against the catalog."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from avm.fingerprint import Fingerprinter, FingerprintOptions
from avm.index import CatalogSnapshot, FingerprintStore, IndexOptions, SearchOptions
from avm.match import Calibration, FuseOptions, ReferenceLookup, match_query, reference_lookup, stored_fingerprints
from avm.media import DecodeOptions, MediaError, content_hash, decode
from avm.pipeline.rows import CatalogRow, DecodedRow, FingerprintedRow, MediaRow, QueryResult
from avm.pipeline.stage import Stage, StageResources
from avm.types import Fingerprints

log = logging.getLogger(__name__)


def _error_text(uri: str, exc: Exception) -> str:
    return str(exc) if isinstance(exc, MediaError) else f"{uri}: {type(exc).__name__}: {exc}"


class DecodeStage(Stage[MediaRow, DecodedRow]):
    """Input file → its content hash, probe results and decoded audio/frames."""

    name = "decode"
    default_resources = StageResources(cpus=1.0)  # one file per Ray task on one CPU

    def __init__(self, opts: DecodeOptions, modalities: Sequence[str], resources: StageResources | None = None) -> None:
        super().__init__(resources)
        self.opts = opts
        self.modalities = tuple(modalities)

    def process(self, rows: list[MediaRow]) -> list[DecodedRow]:
        return [self._decode(row) for row in rows]

    def _decode(self, row: MediaRow) -> DecodedRow:
        out = DecodedRow(row.uri, row.video_id)
        try:
            out.content_hash = content_hash(row.uri) or ""
            out.media = decode(row.uri, self.opts, modalities=self.modalities)
        except Exception as exc:  # every failure becomes the row's error
            out.fail(_error_text(row.uri, exc), exc)
            log.warning("decode failed: %s", out.error)
        return out


class FingerprintStage(Stage[DecodedRow, FingerprintedRow]):
    """Decoded file → its interval fingerprints per modality (the decoded media is dropped).

    ``steps`` overrides the pooling step per modality (queries are fingerprinted at a finer step).
    """

    name = "embed"
    # one actor holding the models, reserving no CPU: it shares the cores of the decode tasks
    default_resources = StageResources(cpus=0.0, actors=1, batch_size=4)

    def __init__(self, opts: FingerprintOptions, steps: dict[str, float] | None = None,
                 resources: StageResources | None = None) -> None:
        super().__init__(resources)
        self.opts, self.steps = opts, steps
        self.fingerprinter: Fingerprinter | None = None

    def setup(self) -> None:
        if self.fingerprinter is None:
            self.fingerprinter = Fingerprinter(self.opts)

    def process(self, rows: list[DecodedRow]) -> list[FingerprintedRow]:
        return [self._fingerprint(row) for row in rows]

    def _empty(self, modality: str) -> Fingerprints:
        dim = self.fingerprinter.dims()[modality]
        return Fingerprints(modality, np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, dim), np.float16),
                            self.fingerprinter.versions[modality])

    def _fingerprint(self, row: DecodedRow) -> FingerprintedRow:
        out = FingerprintedRow(row.uri, row.video_id, row.content_hash, row.media.info if row.media else None,
                               model_versions=dict(self.fingerprinter.versions), error=row.error, cause=row.cause,
                               damage=row.damage)
        prints: dict[str, Fingerprints] = {}
        if not row.error:
            try:
                prints = self.fingerprinter.fingerprint(row.media, self.steps)
            except Exception as exc:  # every failure becomes the row's error
                out.fail(_error_text(row.uri, exc), exc)
                log.warning("fingerprint failed: %s", out.error)
            if not prints and not out.error:
                short = MediaError(row.uri, "too short to fingerprint (no complete interval)")
                out.fail(str(short), short)
        out.prints = {m: prints[m] if m in prints else self._empty(m) for m in self.opts.modalities}
        return out


class QueryStage(Stage[FingerprintedRow | CatalogRow, QueryResult]):
    """A query (a fingerprinted file, or a catalog video) → its segment pairs against the rest of the catalog.

    Every worker searches the ``snapshot`` the calibration was made on. A catalog video never matches itself (its
    stored fingerprints are the query); a file is matched against every catalog video, whatever its name.
    """

    name = "query"
    default_resources = StageResources(cpus=0.0, actors=1, batch_size=8)  # one actor holding the store connection

    def __init__(self, index: IndexOptions, snapshot: CatalogSnapshot, calibration: Calibration, fuse: FuseOptions,
                 search: SearchOptions, modalities: tuple[str, ...], resources: StageResources | None = None) -> None:
        super().__init__(resources)
        self.index, self.snapshot, self.calibration = index, snapshot, calibration
        self.fuse, self.search, self.modalities = fuse, search, modalities
        self.store: FingerprintStore | None = None
        self.references: ReferenceLookup | None = None

    def setup(self) -> None:
        if self.store is None:
            self.store = FingerprintStore(self.index, self.snapshot)
            self.references = reference_lookup(self.store)  # popular references are read once per worker

    def process(self, rows: list[FingerprintedRow | CatalogRow]) -> list[QueryResult]:
        return [self._query(row) for row in rows]

    def _stored_prints(self, video_id: str) -> dict[str, Fingerprints]:
        found = {m: stored_fingerprints(self.store, m, video_id) for m in self.modalities}
        return {m: fp for m, fp in found.items() if fp is not None}

    def _query(self, row: FingerprintedRow | CatalogRow) -> QueryResult:
        if isinstance(row, FingerprintedRow) and row.error:
            return QueryResult(row.video_id, error=row.error, cause=row.cause)
        catalog = isinstance(row, CatalogRow)
        out = QueryResult(row.video_id, duration=0.0 if catalog else row.duration)
        try:
            prints = self._stored_prints(row.video_id) if catalog else row.prints
            out.segments = match_query(self.store, row.video_id, prints, self.search, self.calibration.options,
                                       self.references, self.fuse, self.calibration.shared,
                                       exclude_self=catalog, shortlisted=self.calibration.shortlisted)
        except Exception as exc:  # every failure becomes the row's error
            out.fail(f"{row.video_id}: search failed: {type(exc).__name__}: {exc}", exc)
            log.warning("%s", out.error)
        return out

"""The pipeline's stages: decode a file, fingerprint it, put a long file's parts together, match a query against
the catalog."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from avm.fingerprint import Fingerprinter, FingerprintOptions
from avm.index import CatalogSnapshot, FingerprintStore, IndexOptions, SearchOptions
from avm.match import Calibration, FuseOptions, ReferenceLookup, match_query, reference_lookup, stored_fingerprints
from avm.media import DecodeOptions, MediaError, content_hash, decode, decode_pieces, is_long, probe
from avm.pipeline.rows import CatalogRow, DecodedRow, FingerprintedRow, MediaRow, QueryResult
from avm.pipeline.stage import Stage, StageResources
from avm.types import Fingerprints

log = logging.getLogger(__name__)


def _error_text(uri: str, exc: Exception) -> str:
    return str(exc) if isinstance(exc, MediaError) else f"{uri}: {type(exc).__name__}: {exc}"


class DecodeStage(Stage[MediaRow, DecodedRow]):
    """Input file → its content hash, probe results and decoded audio/frames: one row, or for a long file
    (``media.chunk_seconds``) one row per piece as it decodes, so that no worker holds the whole file."""

    name = "decode"
    default_resources = StageResources(cpus=1.0)  # one file per Ray task on one CPU
    streams = True

    def __init__(self, opts: DecodeOptions, modalities: Sequence[str], resources: StageResources | None = None) -> None:
        super().__init__(resources)
        self.opts = opts
        self.modalities = tuple(modalities)

    def process(self, rows: list[MediaRow]) -> Iterator[DecodedRow]:
        for row in rows:
            yield from self._decode(row)

    def _decode(self, row: MediaRow) -> Iterator[DecodedRow]:
        part, digest, token = 0, "", uuid.uuid4().hex  # token: this decode of the file, apart from another of it
        try:
            digest = content_hash(row.uri) or ""
            info = probe(row.uri, self.opts.allowed_schemes, self.opts.allowed_formats)
            if not is_long(info, self.opts):
                yield DecodedRow(row.uri, row.video_id, digest, decode(row.uri, self.opts, info, self.modalities))
                return
            with contextlib.closing(decode_pieces(row.uri, self.opts, info, self.modalities)) as pieces:
                for piece in pieces:
                    yield DecodedRow(row.uri, row.video_id, digest, piece, part=part,
                                     parts=part + 1 if piece.empty else 0, token=token)
                    part += 1
        except Exception as exc:  # every failure becomes the row's error; the file's earlier parts are dropped
            failed = DecodedRow(row.uri, row.video_id, digest, part=part, parts=part + 1, token=token)
            failed.fail(_error_text(row.uri, exc), exc)
            log.warning("decode failed: %s", failed.error)
            yield failed


class FingerprintStage(Stage[DecodedRow, FingerprintedRow]):
    """Decoded file (or part of one) → its interval fingerprints per modality (the decoded media is dropped).

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
                               damage=row.damage, part=row.part, parts=row.parts, token=row.token)
        prints: dict[str, Fingerprints] = {}
        if not row.error:
            try:
                prints = self.fingerprinter.fingerprint(row.media, self.steps)
            except Exception as exc:  # every failure becomes the row's error
                out.fail(_error_text(row.uri, exc), exc)
                log.warning("fingerprint failed: %s", out.error)
        out.prints = {m: prints[m] if m in prints else self._empty(m) for m in self.opts.modalities}
        return out


class AssembleStage(Stage[FingerprintedRow, FingerprintedRow]):
    """The fingerprinted parts of each file → the file's one row, once every part has come (in any order).

    A file fails when any of its parts failed, and when it gave no interval at all (too short)."""

    name = "assemble"
    # one actor, so that it sees every part of every file; it holds the fingerprints of unfinished files only
    default_resources = StageResources(cpus=0.0, actors=1, batch_size=1)

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, list[FingerprintedRow]] = {}

    def process(self, rows: list[FingerprintedRow]) -> list[FingerprintedRow]:
        done = []
        for row in rows:
            if row.parts == 1:
                done.append(_whole_file([row]))
                continue
            parts = self.waiting.setdefault(row.token, [])
            parts.append(row)
            total = max(p.parts for p in parts)
            if total and len(parts) == total:
                done.append(_whole_file(self.waiting.pop(row.token)))
        return done


def fingerprinting_stages(media: DecodeOptions, model: FingerprintOptions, steps: dict[str, float] | None = None,
                          decode: StageResources | None = None,
                          embed: StageResources | None = None) -> list[Stage[Any, Any]]:
    """The stages that turn input files into their fingerprints: decode, fingerprint, assemble a long file's parts
    (``steps``: the pooling step per modality, e.g. queries'; ``decode``, ``embed``: their resources)."""
    return [DecodeStage(media, model.modalities, decode), FingerprintStage(model, steps, embed), AssembleStage()]


def _whole_file(parts: list[FingerprintedRow]) -> FingerprintedRow:
    """One file's row from all of its parts."""
    parts = sorted(parts, key=lambda p: p.part)
    closing = parts[-1]
    out = dataclasses.replace(closing, part=0, parts=1, token="",
                              info=next((p.info for p in parts if p.info is not None), None))
    for part in parts:
        if part.error:
            out.fail(part.error, part.cause)
    if len(parts) > 1:
        out.prints = {m: Fingerprints.concat([p.prints[m] for p in parts if m in p.prints])
                      for m in closing.prints}
    if not out.error and not any(len(fp) for fp in out.prints.values()):
        short = MediaError(out.uri, "too short to fingerprint (no complete interval)")
        out.fail(str(short), short)
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

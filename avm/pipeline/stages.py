"""The pipeline's stages as plain callables over row dicts / numpy batches.

They hold no Ray code, so the same objects run inside Ray tasks and actors (``avm.pipeline.ray_jobs``) and
in-process for one file (``avm match``). A failure never raises out of a stage: it becomes the row's
``error`` (naming the file and the reason) and the batch goes on.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

import numpy as np
import pyarrow as pa

from avm.fingerprint import FingerprintOptions, Fingerprinter
from avm.index import FingerprintStore, IndexOptions, knn
from avm.match import Fingerprints, MatchOptions, ReferenceLookup, Segment, match_segments
from avm.media import DecodedMedia, DecodeOptions, MediaError, content_hash, decode
from avm.media.probe import MediaInfo

log = logging.getLogger(__name__)

Batch = dict[str, np.ndarray]


def object_array(items: list[Any]) -> np.ndarray:
    """A 1-d object array holding ``items`` as they are (numpy would stack equal-shaped arrays)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _error_text(uri: str, exc: Exception) -> str:
    return str(exc) if isinstance(exc, MediaError) else f"{uri}: {type(exc).__name__}: {exc}"


class DecodeStage:
    """Row {uri, video_id} → the row plus probe results, content hash and decoded audio/frames."""

    def __init__(self, opts: DecodeOptions) -> None:
        self.opts = opts

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        uri = row["uri"]
        out = {"uri": uri, "video_id": row["video_id"], "error": "", "content_hash": "", "duration": 0.0,
               "streams": "[]", "audio": np.zeros(0, np.float32), "frames": np.zeros((0, 1, 1), np.uint8),
               "sample_rate": self.opts.sample_rate, "frame_rate": self.opts.frame_rate, "decode_seconds": 0.0}
        started = time.perf_counter()
        try:
            out["content_hash"] = content_hash(uri) or ""
            media = decode(uri, self.opts)
            out["duration"] = media.info.duration
            out["streams"] = media.info.streams_json()
            if media.audio is not None:
                out["audio"] = media.audio
            if media.frames is not None:
                out["frames"] = media.frames
        except Exception as exc:  # noqa: BLE001 - every failure becomes the row's error
            out["error"] = _error_text(uri, exc)
            log.warning("decode failed: %s", out["error"])
        out["decode_seconds"] = time.perf_counter() - started
        return out


def _as_media(batch: Batch, i: int) -> DecodedMedia:
    audio = np.asarray(batch["audio"][i], dtype=np.float32)
    frames = np.asarray(batch["frames"][i], dtype=np.uint8)
    info = MediaInfo(uri=str(batch["uri"][i]), duration=float(batch["duration"][i]), format="")
    return DecodedMedia(info=info, audio=audio if audio.size else None, sample_rate=int(batch["sample_rate"][i]),
                        frames=frames if frames.size else None, frame_rate=float(batch["frame_rate"][i]))


class FingerprintStage:
    """Batch of decoded rows → the same rows with per-modality interval fingerprints instead of raw media.

    Adds, per modality M, the columns ``M_t_start``, ``M_t_end`` and ``M_vectors`` (empty when the file has
    no such stream) and ``model_versions`` (JSON); drops ``audio`` and ``frames``.
    """

    def __init__(self, opts: FingerprintOptions, steps: dict[str, float] | None = None) -> None:
        self.fingerprinter = Fingerprinter(opts)
        self.steps = steps
        self.modalities = opts.modalities
        self.dims = self.fingerprinter.dims()

    def __call__(self, batch: Batch) -> Batch:
        n = len(batch["video_id"])
        columns: dict[str, list[Any]] = {f"{m}_{c}": [] for m in self.modalities for c in ("t_start", "t_end", "vectors")}
        errors = [str(e) for e in batch["error"]]
        seconds = []
        for i in range(n):
            started = time.perf_counter()
            prints = {}
            if not errors[i]:
                try:
                    prints = self.fingerprinter.fingerprint(_as_media(batch, i), self.steps)
                    if not prints:
                        errors[i] = f"{batch['uri'][i]}: too short to fingerprint (no complete interval)"
                except Exception as exc:  # noqa: BLE001
                    errors[i] = _error_text(str(batch["uri"][i]), exc)
                    log.warning("fingerprint failed: %s", errors[i])
            for m in self.modalities:
                fp = prints.get(m)
                columns[f"{m}_t_start"].append(fp.t_start if fp else np.zeros(0, np.float32))
                columns[f"{m}_t_end"].append(fp.t_end if fp else np.zeros(0, np.float32))
                columns[f"{m}_vectors"].append(fp.vectors if fp else np.zeros((0, self.dims[m]), np.float16))
            seconds.append(time.perf_counter() - started)
        out = {k: v for k, v in batch.items() if k not in ("audio", "frames")}
        out.update({k: object_array(v) for k, v in columns.items()})
        out["error"] = np.asarray(errors, dtype=object)
        out["model_versions"] = np.asarray([json.dumps(self.fingerprinter.versions)] * n, dtype=object)
        out["embed_seconds"] = np.asarray(seconds, dtype=np.float64)
        return out


def fingerprint_file(decoder: DecodeStage, printer: FingerprintStage, uri: str,
                     video_id: str) -> dict[str, Fingerprints]:
    """Decode and fingerprint one file in this process (no Ray): its fingerprints per modality of ``printer``
    (empty where the file has no such stream). Raises RuntimeError naming the file when either step fails."""
    row = decoder({"uri": uri, "video_id": video_id})
    printed = printer({k: object_array([v]) for k, v in row.items()})
    if printed["error"][0]:
        raise RuntimeError(str(printed["error"][0]))
    return {m: Fingerprints(printed[f"{m}_t_start"][0], printed[f"{m}_t_end"][0], printed[f"{m}_vectors"][0])
            for m in printer.modalities}


def fingerprints_from_rows(rows: pa.Table) -> Fingerprints:
    """Fingerprint-table rows (``t_start, t_end, vector``, in time order) as :class:`Fingerprints`."""
    vectors = rows["vector"].combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(rows.num_rows, -1)
    return Fingerprints(rows["t_start"].to_numpy(), rows["t_end"].to_numpy(), vectors.astype(np.float32))


def stored_fingerprints(store: FingerprintStore, modality: str, video_id: str) -> Fingerprints | None:
    """One catalog video's stored interval fingerprints of one modality (None when it has none)."""
    rows = store.intervals_of(modality, video_id)
    return fingerprints_from_rows(rows) if rows.num_rows else None


REFERENCE_CACHE_SIZE = 256  # (modality, reference) fingerprint sets a query stage keeps between queries


def reference_lookup(store: FingerprintStore, size: int = REFERENCE_CACHE_SIZE) -> ReferenceLookup:
    """Stored fingerprints by (modality, video id), the ``size`` most recently used kept in memory."""
    return functools.lru_cache(maxsize=size)(functools.partial(stored_fingerprints, store))


def match_query(store: FingerprintStore, query_id: str, prints: dict[str, Fingerprints], k: int,
                opts: dict[str, MatchOptions], references: ReferenceLookup | None = None) -> list[Segment]:
    """Search every interval of one query in each modality's table, align and refine the hits, fuse the modalities.

    A catalog video with the query's own id is excluded (a video never matches itself). ``references`` (by
    default a lookup for this query alone) gives the references' stored fingerprints for refinement.
    """
    hits = {m: knn(store, m, fp.vectors, k, exclude_video_id=query_id) for m, fp in prints.items() if len(fp.vectors)}
    return match_segments(query_id, prints, hits, opts, references=references or reference_lookup(store))


class QueryStage:
    """Batch of queries → one row per query with its segment pairs (JSON) or its error.

    Rows either carry fingerprints (columns from :class:`FingerprintStage`) or only a ``video_id`` of the
    catalog, whose stored fingerprints are then searched against all other videos.
    """

    def __init__(self, index: IndexOptions, match: dict[str, MatchOptions], k: int, modalities: tuple[str, ...],
                 catalog: bool) -> None:
        self.store = FingerprintStore(index)
        self.references = reference_lookup(self.store)  # popular references are read once per actor
        self.match, self.k, self.modalities, self.catalog = match, k, modalities, catalog

    def _stored_prints(self, video_id: str) -> dict[str, Fingerprints]:
        found = {m: stored_fingerprints(self.store, m, video_id) for m in self.modalities}
        return {m: fp for m, fp in found.items() if fp is not None}

    def __call__(self, batch: Batch) -> Batch:
        n = len(batch["video_id"])
        errors = [str(e) for e in batch["error"]] if "error" in batch else [""] * n
        results, seconds = [], []
        for i in range(n):
            started = time.perf_counter()
            query_id = str(batch["video_id"][i])
            segments: list[Segment] = []
            if not errors[i]:
                try:
                    prints = self._stored_prints(query_id) if self.catalog else {
                        m: Fingerprints(batch[f"{m}_t_start"][i], batch[f"{m}_t_end"][i], batch[f"{m}_vectors"][i])
                        for m in self.modalities}
                    segments = match_query(self.store, query_id, prints, self.k, self.match, self.references)
                except Exception as exc:  # noqa: BLE001
                    errors[i] = f"{query_id}: search failed: {type(exc).__name__}: {exc}"
                    log.warning("%s", errors[i])
            results.append(json.dumps([s.__dict__ for s in segments]))
            seconds.append(time.perf_counter() - started)
        out: Batch = {"video_id": np.asarray(batch["video_id"], dtype=object),
                      "error": np.asarray(errors, dtype=object),
                      "segments": np.asarray(results, dtype=object),
                      "search_seconds": np.asarray(seconds, dtype=np.float64)}
        for column in ("uri", "duration"):
            if column in batch:
                out[column] = batch[column]
        return out

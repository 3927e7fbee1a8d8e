"""What the page shows of one pair besides the rows: which files to play, and the similarity of each modality along
the pair's line."""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from avm.index import FingerprintStore
from avm.match import line_track, stored_fingerprints
from avm.pipeline.inprocess import fingerprint_file
from avm.pipeline.stage import Stage
from avm.pipeline.stages import fingerprinting_stages
from avm.review.config import ReviewConfig
from avm.types import Fingerprints, Segment

TRACK_MARGIN = 0.25  # the track reaches this share of the segment's length beyond each end (at least MIN_MARGIN s)
MIN_MARGIN = 5.0
QUERY_PRINTS_CACHED = 8  # query files whose fingerprints are kept between requests


class SimilarityTracks:
    """Per-interval similarity of query and reference along a pair's line ``ref = speed · query + offset``.

    The reference's fingerprints come from the store; the query's too when it is a catalog video (a catalog scan),
    else its file is fingerprinted here once (the scan's query settings) and kept for the next requests.
    """

    def __init__(self, cfg: ReviewConfig, store: FingerprintStore) -> None:
        self.cfg, self.store = cfg, store
        self._lock = threading.Lock()  # one file decoded and embedded at a time (the models are shared)
        self._stages: list[Stage[Any, Any]] | None = None
        self.file_prints = functools.lru_cache(maxsize=QUERY_PRINTS_CACHED)(self._file_prints)

    def _file_prints(self, uri: str, video_id: str) -> dict[str, Fingerprints]:
        with self._lock:
            if self._stages is None:
                model = self.cfg.model
                self._stages = fingerprinting_stages(self.cfg.media, model, model.query_steps())
            return fingerprint_file(self._stages, uri, video_id)

    def query_prints(self, pair: Segment, query_uri: str | None, catalog_uri: str | None) -> dict[str, Fingerprints]:
        """The query's fingerprints per modality: stored when the query is that catalog video, else its file's."""
        if query_uri is None or query_uri == catalog_uri:
            stored = {m: stored_fingerprints(self.store, m, pair.query_id) for m in self.cfg.model.modalities}
            found = {m: fp for m, fp in stored.items() if fp is not None}
            if found or query_uri is None:
                return found
        return self.file_prints(query_uri, pair.query_id)

    def track(self, pair: Segment, query_prints: dict[str, Fingerprints]) -> dict[str, Any]:
        """Query times (interval centres) and similarities per modality over the segment and a margin around it
        (``None`` where the line leaves the reference)."""
        margin = max(MIN_MARGIN, TRACK_MARGIN * pair.duration)
        lo, hi = pair.query_start - margin, pair.query_end + margin
        out: dict[str, Any] = {"from": lo, "to": hi, "modalities": {}}
        for m, query in query_prints.items():
            reference = stored_fingerprints(self.store, m, pair.ref_id)
            if reference is None or not len(query.t_start):
                continue
            similarity = line_track(query, reference, pair.speed, pair.offset)
            centres = (query.t_start.astype(np.float64) + query.t_end) / 2
            keep = (centres >= lo) & (centres <= hi)
            out["modalities"][m] = {"t": np.round(centres[keep], 3).tolist(),
                                    "similarity": [None if s < -0.999 else round(float(s), 4)
                                                   for s in similarity[keep]]}
        return out

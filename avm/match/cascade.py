"""The cascade's first stage: k-NN search of a sparse subset of a query's intervals.

Searching every query interval (every 0.5 s) is the scan's main cost, and most of it is redundant: a copy
of a few seconds already gives several consistent hits when only every second or fourth interval is searched.
The first stage searches intervals ``search.first_stage_step`` seconds apart; alignment turns their hits into
candidate (reference, line) segments, with ``align.min_hits`` scaled to the intervals searched; and refinement
(:mod:`avm.match.refine`) then follows every candidate at full resolution against the reference's stored
fingerprints, so the copy's extent and score still come from every query interval.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from avm.index import FingerprintStore, SearchOptions, knn
from avm.match.options import MatchOptions
from avm.types import Fingerprints, Hits

MIN_SPARSE_HITS = 2  # the fewest first-stage hits that make a candidate, however sparse the search


def stride_of(t_start: np.ndarray, step: float) -> int:
    """Every how many intervals of a sequence starting at ``t_start`` one is searched, for ``step`` seconds
    between searched intervals (1: every interval; ``step`` ≤ 0 searches every interval)."""
    if step <= 0 or len(t_start) < 2:
        return 1
    native = float(np.median(np.diff(np.asarray(t_start, np.float64))))
    return max(1, int(round(step / native))) if native > 0 else 1


def first_stage_hits(store: FingerprintStore, modality: str, prints: Fingerprints, search: SearchOptions,
                     exclude_video_id: str | None = None) -> tuple[Hits, int]:
    """The k-NN hits of every ``stride``-th interval of ``prints`` (``query_index`` into all of its intervals),
    and that stride."""
    stride = stride_of(prints.t_start, search.first_stage_step)
    rows = np.arange(0, len(prints), stride)
    hits = knn(store, modality, prints.vectors[rows], search.k, exclude_video_id=exclude_video_id)
    return dataclasses.replace(hits, query_index=rows[hits.query_index].astype(np.int32)), stride


def sparse_options(opts: MatchOptions, stride: int) -> MatchOptions:
    """``opts`` for aligning hits of every ``stride``-th interval: the fewest hits of a segment scaled down."""
    if stride <= 1:
        return opts
    min_hits = max(MIN_SPARSE_HITS, math.ceil(opts.align.min_hits / stride))
    return dataclasses.replace(opts, align=dataclasses.replace(opts.align, min_hits=min(min_hits, opts.align.min_hits)))

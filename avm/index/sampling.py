"""Impostor sampling: the null distribution of hit similarities, from the catalog itself."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from avm.index.search import knn
from avm.index.store import FingerprintStore
from avm.types import Hits, vector_matrix

# (video ids, interval starts, interval ends) → which of those intervals to leave out of a null distribution
IntervalFilter = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _sample_rows(store: FingerprintStore, modality: str, samples: int, seed: int,
                 columns: list[str]) -> dict[str, np.ndarray] | None:
    """Up to ``samples`` current stored intervals drawn at random (seeded), as numpy columns (vectors as a
    matrix)."""
    table = store.fingerprints(modality)
    rows = 0 if table is None else table.count_rows()
    if rows == 0:
        return None
    picks = np.random.default_rng(seed).choice(rows, size=min(samples, rows), replace=False)
    sample = table.to_lance().take(np.sort(picks), columns=[*columns, "batch_id"])
    current = store.snapshot().current(modality, sample["video_id"].to_numpy(zero_copy_only=False),
                                       sample["batch_id"].to_numpy())
    sample = sample.filter(pa.array(current))
    return {c: vector_matrix(sample[c]) if c == "vector" else sample[c].to_numpy(zero_copy_only=False)
            for c in columns}


def sample_vectors(store: FingerprintStore, modality: str, samples: int, seed: int = 0) -> np.ndarray:
    """Up to ``samples`` current stored vectors of ``modality`` drawn at random (seeded), as float32 [n, dim]."""
    sample = _sample_rows(store, modality, samples, seed, ["video_id", "vector"])
    return np.zeros((0, 0), np.float32) if sample is None else sample["vector"]


def impostor_similarities(store: FingerprintStore, modality: str, samples: int, k: int = 32, seed: int = 0,
                          ignore: IntervalFilter | None = None, recurring: tuple[float, int] | None = None) -> np.ndarray:
    """Best similarity of randomly sampled stored intervals to any interval of *another* video.

    This is the null distribution of hit similarities for unrelated content (up to the rare true copies
    inside the catalog), used to calibrate the matcher's hit threshold for whatever model is in use.
    Intervals that ``ignore`` marks (content known to recur across videos) are neither sampled nor counted as
    hits. With ``recurring = (similarity, videos)``, a sampled interval whose nearest reach ``similarity`` in
    ``videos`` or more other videos is left out too: content the catalog holds many times over, however short
    (an ident or an outro a window long, which no search along a line can confirm).
    """
    sample = _sample_rows(store, modality, samples, seed, ["video_id", "t_start", "t_end", "vector"])
    if sample is None:
        return np.zeros(0, np.float32)
    if ignore is not None:
        keep = ~ignore(sample["video_id"], sample["t_start"], sample["t_end"])
        sample = {c: v[keep] for c, v in sample.items()}
    vectors, owners = sample["vector"], np.asarray(sample["video_id"], dtype=object)
    best, left_out = _best_foreign(knn(store, modality, vectors, k), owners, ignore, recurring)
    # intervals whose k nearest all lie in their own video (long still or repeated scenes) or in ignored content
    # are searched again deeper, then with their video filtered out (one search per video), so the sample is not
    # biased towards varied content
    missing = np.setdiff1d(np.arange(len(vectors)), np.union1d(best.index.to_numpy(), left_out))
    if len(missing):
        deeper, deeper_left_out = _best_foreign(knn(store, modality, vectors[missing], 8 * k), owners[missing],
                                                ignore, recurring)
        best = pd.concat([best, pd.Series(deeper.to_numpy(), index=missing[deeper.index.to_numpy()])])
        left_out = np.union1d(left_out, missing[deeper_left_out])
    rest = np.setdiff1d(np.arange(len(vectors)), np.union1d(best.index.to_numpy(), left_out))
    nearest: dict[int, float] = {}
    for owner in pd.unique(owners[rest]):
        rows = rest[owners[rest] == owner]
        again = knn(store, modality, vectors[rows], 1, exclude_video_id=str(owner))
        if ignore is not None and len(again):
            again = again.select(~ignore(again.video_id, again.t_start, again.t_end))
        nearest.update(zip(rows[again.query_index].tolist(), again.similarity.tolist(), strict=True))
    for i in sorted(nearest):
        best.loc[i] = nearest[i]
    return best.to_numpy(np.float32)


def _best_foreign(hits: Hits, owners: np.ndarray, ignore: IntervalFilter | None,
                  recurring: tuple[float, int] | None) -> tuple[pd.Series, np.ndarray]:
    """Per query row, the best similarity to an interval of a video other than its owner's and not ignored (rows
    without one are absent), and the rows left out as recurring content (``recurring``: see
    :func:`impostor_similarities`), which are absent from the first."""
    foreign = hits.select(hits.video_id != owners[hits.query_index])
    left_out = np.zeros(0, np.int64)
    if recurring is not None and len(foreign):
        similarity, videos = recurring
        strong = foreign.select(foreign.similarity >= similarity)
        others = pd.Series(strong.video_id).groupby(strong.query_index).nunique()
        left_out = others.index[others.to_numpy() >= videos].to_numpy(np.int64)
    if ignore is not None and len(foreign):
        foreign = foreign.select(~ignore(foreign.video_id, foreign.t_start, foreign.t_end))
    best = pd.Series(foreign.similarity).groupby(foreign.query_index).max()
    return best.drop(left_out, errors="ignore"), left_out

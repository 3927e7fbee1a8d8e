"""Impostor sampling: the null distribution of hit similarities, from the catalog itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avm.index.search import knn
from avm.index.store import FingerprintStore
from avm.types import Hits, vector_matrix


def impostor_similarities(store: FingerprintStore, modality: str, samples: int, k: int = 32,
                          seed: int = 0) -> np.ndarray:
    """Best similarity of randomly sampled stored intervals to any interval of *another* video.

    This is the null distribution of hit similarities for unrelated content (up to the rare true copies
    inside the catalog), used to calibrate the matcher's hit threshold for whatever model is in use.
    """
    table = store.fingerprints(modality)
    rows = 0 if table is None else table.count_rows()
    if rows == 0:
        return np.zeros(0, np.float32)
    picks = np.random.default_rng(seed).choice(rows, size=min(samples, rows), replace=False)
    sample = table.to_lance().take(np.sort(picks), columns=["video_id", "vector"])
    vectors = vector_matrix(sample["vector"])
    owners = np.asarray(sample["video_id"].to_pylist(), dtype=object)
    best = _best_foreign(knn(store, modality, vectors, k), owners)
    # intervals whose k nearest all lie in their own video (long still or repeated scenes) are searched again
    # deeper, then alone with their video filtered out, so the sample is not biased towards varied content
    missing = np.setdiff1d(np.arange(len(vectors)), best.index.to_numpy())
    if len(missing):
        deeper = _best_foreign(knn(store, modality, vectors[missing], 8 * k), owners[missing])
        best = pd.concat([best, pd.Series(deeper.to_numpy(), index=missing[deeper.index.to_numpy()])])
    for i in np.setdiff1d(np.arange(len(vectors)), best.index.to_numpy()):
        again = knn(store, modality, vectors[i:i + 1], 1, exclude_video_id=str(owners[i]))
        if len(again):
            best.loc[i] = float(again.similarity[0])
    return best.to_numpy(np.float32)


def _best_foreign(hits: Hits, owners: np.ndarray) -> pd.Series:
    """Per query row, the best similarity to an interval of a video other than its owner's (rows without one
    are absent)."""
    foreign = hits.select(hits.video_id != owners[hits.query_index])
    return pd.Series(foreign.similarity).groupby(foreign.query_index).max()

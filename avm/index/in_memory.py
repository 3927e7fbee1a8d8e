"""Exact k-NN of a small table without an ANN index, in memory: the table read once per version, then a matrix
product per batch of queries (LanceDB's flat search reads and scores the whole table again for every query
vector)."""

from __future__ import annotations

from dataclasses import dataclass

import lance
import numpy as np
import pyarrow as pa

from avm.schema import HITS_SCHEMA
from avm.types import vector_matrix

COLUMNS = ["video_id", "batch_id", "t_start", "t_end"]
SCORES_PER_CHUNK = 1 << 24  # query × row scores computed at once (64 MB)


@dataclass(frozen=True)
class InMemoryTable:
    """Every row of one version of a fingerprints table: its columns and its vectors as a float32 matrix."""

    name: str
    version: int
    rows: pa.Table  # COLUMNS
    video_ids: np.ndarray  # object [n]
    vectors: np.ndarray  # float32 [n, dim]
    stored_as: np.dtype  # the stored vectors' type: queries are rounded to it, as LanceDB rounds them

    @classmethod
    def read(cls, name: str, dataset: lance.LanceDataset) -> InMemoryTable:
        """The version of table ``name`` that ``dataset`` holds."""
        rows = dataset.to_table(columns=[*COLUMNS, "vector"])
        return cls(name, dataset.version, rows.select(COLUMNS), rows["video_id"].to_numpy(zero_copy_only=False),
                   vector_matrix(rows["vector"]), np.dtype(rows["vector"].type.value_type.to_pandas_dtype()))

    def search(self, queries: np.ndarray, k: int, exclude_video_id: str | None = None) -> pa.Table:
        """The ``k`` rows of highest dot product with each query (ties: the earlier row), best first, as LanceDB's
        search returns them: ``query_index``, :data:`COLUMNS` and ``similarity`` (1 − LanceDB's dot distance, so
        the same float32 value, the queries rounded to the stored type as LanceDB rounds them); rows of
        ``exclude_video_id`` are never returned."""
        allowed = np.ones(len(self.vectors), bool) if exclude_video_id is None else self.video_ids != exclude_video_id
        k = min(k, int(allowed.sum()))
        if k == 0 or len(queries) == 0:
            return _hits(self.rows.slice(0, 0), np.zeros(0, np.int32), np.zeros(0, np.float32))
        step = max(1, SCORES_PER_CHUNK // len(self.vectors))
        picked, similarity = [], []
        for first in range(0, len(queries), step):
            chunk = np.asarray(queries[first:first + step]).astype(self.stored_as).astype(np.float32)
            scores = chunk @ self.vectors.T
            scores[:, ~allowed] = -np.inf
            best = top_k(scores, k)
            picked.append(best)
            similarity.append(np.take_along_axis(scores, best, axis=1))
        query_index = np.repeat(np.arange(len(queries), dtype=np.int32), k)
        distance = np.float32(1) - np.concatenate(similarity).ravel()
        return _hits(self.rows.take(np.concatenate(picked).ravel()), query_index, np.float32(1) - distance)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``scores``, the column indices of its ``k`` largest values, largest first (equal values: the
    lower index first), in time linear in the row's length."""
    columns = scores.shape[1]
    if k < columns:
        threshold = np.partition(scores, columns - k, axis=1)[:, columns - k][:, None]
        above = scores > threshold
        tied = scores == threshold
        # of the values equal to the k-th largest, the first ones by index fill what the larger ones leave
        keep = above | (tied & (np.cumsum(tied, axis=1) <= (k - above.sum(axis=1))[:, None]))
        candidates = np.nonzero(keep)[1].reshape(len(scores), k)
    else:
        candidates = np.broadcast_to(np.arange(columns), scores.shape)
    values = np.take_along_axis(scores, candidates, axis=1)
    order = np.lexsort((candidates, -values), axis=1)
    return np.take_along_axis(candidates, order, axis=1)


def _hits(rows: pa.Table, query_index: np.ndarray, similarity: np.ndarray) -> pa.Table:
    return pa.table({"query_index": pa.array(query_index, pa.int32()), **{c: rows[c] for c in COLUMNS},
                     "similarity": pa.array(similarity.astype(np.float32), HITS_SCHEMA.field("similarity").type)})

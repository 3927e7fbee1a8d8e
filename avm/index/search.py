"""Batched k-nearest-neighbour search of interval embeddings (dot product on L2-normalised vectors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from avm.index.store import FingerprintStore, _sql_list

HITS_SCHEMA = pa.schema([
    pa.field("query_index", pa.int32()),
    pa.field("video_id", pa.string()),
    pa.field("t_start", pa.float32()),
    pa.field("t_end", pa.float32()),
    pa.field("similarity", pa.float32()),
])


def knn(store: FingerprintStore, modality: str, vectors: np.ndarray, k: int, exclude_video_id: str | None = None,
        exact: bool = False, batch_size: int = 1024) -> pa.Table:
    """The ``k`` nearest stored intervals of every row of ``vectors`` (HITS_SCHEMA; similarity = dot product).

    ``exclude_video_id`` is filtered out before the search (a catalog video never matches itself). With an
    ANN index, ``nprobes`` and ``refine_factor`` come from the store's options; ``exact`` bypasses the index.
    """
    table = store.fingerprints(modality)
    if table is None or len(vectors) == 0:
        return HITS_SCHEMA.empty_table()
    indexed = not exact and store.has_vector_index(modality)
    parts = []
    for first in range(0, len(vectors), batch_size):
        batch = np.asarray(vectors[first:first + batch_size], dtype=np.float32)
        query = (table.search(list(batch), vector_column_name="vector").distance_type("dot").limit(k)
                 .select(["video_id", "t_start", "t_end", "_distance"]))
        if exclude_video_id is not None:
            query = query.where(f"video_id != {_sql_list([exclude_video_id])[1:-1]}", prefilter=True)
        if indexed:
            query = query.nprobes(store.opts.nprobes)
            if store.opts.refine_factor:
                query = query.refine_factor(store.opts.refine_factor)
        else:
            query = query.bypass_vector_index()
        result = query.to_arrow()
        if len(batch) == 1 and "query_index" not in result.column_names:
            result = result.append_column("query_index", pa.array(np.zeros(result.num_rows, np.int32)))
        parts.append(pa.table({
            "query_index": pc.add(result["query_index"].cast(pa.int32()), first),
            "video_id": result["video_id"],
            "t_start": result["t_start"],
            "t_end": result["t_end"],
            "similarity": pc.subtract(1.0, result["_distance"]).cast(pa.float32()),
        }, schema=HITS_SCHEMA))
    return pa.concat_tables(parts)


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
    vectors = np.asarray(sample["vector"].to_pylist(), dtype=np.float32)
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
        if again.num_rows:
            best.loc[i] = float(again["similarity"][0].as_py())
    return best.to_numpy(np.float32)


def _best_foreign(hits: pa.Table, owners: np.ndarray) -> pd.Series:
    """Per query row, the best similarity to an interval of a video other than its owner's (rows without one
    are absent)."""
    df = hits.to_pandas()
    df = df[df.video_id.to_numpy() != owners[df.query_index.to_numpy()]]
    return df.groupby("query_index").similarity.max()

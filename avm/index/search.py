"""Batched k-nearest-neighbour search of interval embeddings (dot product on L2-normalised vectors)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from avm.index.snapshot import CatalogSnapshot
from avm.index.sql import sql_literal
from avm.index.store import FingerprintStore, read_again_if_gone
from avm.schema import HITS_SCHEMA
from avm.types import Hits


def knn(store: FingerprintStore, modality: str, vectors: np.ndarray, k: int, exclude_video_id: str | None = None,
        exact: bool = False, batch_size: int = 1024, segments: bool = False) -> Hits:
    """The ``k`` nearest stored intervals of every row of ``vectors`` (similarity = dot product).

    Only the current fingerprints of searchable videos in the store's snapshot are returned (never leftovers of
    an interrupted or replaced write). ``exclude_video_id`` is filtered out before the search (a catalog video
    never matches itself). With an ANN index, ``nprobes``, ``ef`` and ``refine_factor`` come from the store's options;
    ``exact`` bypasses the index. A table searched without an index is searched in memory when it is small
    (:meth:`FingerprintStore.in_memory`), with the same results as LanceDB's flat search. With ``segments``, the stored segment vectors are searched instead (the hits'
    times are the segments').
    """
    snapshot = store.snapshot()
    table = store.fingerprints(modality, segments=segments)
    if table is None or len(vectors) == 0:
        return Hits.empty()
    indexed = not exact and store.has_vector_index(modality, segments=segments)
    in_memory = None if indexed else store.in_memory(table)
    if in_memory is not None:
        return Hits.from_table(_current(snapshot, modality, in_memory.search(vectors, k, exclude_video_id)))
    parts = []
    for first in range(0, len(vectors), batch_size):
        batch = np.asarray(vectors[first:first + batch_size], dtype=np.float32)
        query = (table.search(list(batch), vector_column_name="vector").distance_type("dot").limit(k)
                 .select(["video_id", "batch_id", "t_start", "t_end", "_distance"]))
        if exclude_video_id is not None:
            query = query.where(f"video_id != {sql_literal(exclude_video_id)}", prefilter=True)
        if indexed:
            query = query.nprobes(store.opts.nprobes)
            if store.opts.ef:
                query = query.ef(store.opts.ef)
            if store.opts.refine_factor:
                query = query.refine_factor(store.opts.refine_factor)
        else:
            query = query.bypass_vector_index()
        result = read_again_if_gone(query.to_arrow, table)
        if len(batch) == 1 and "query_index" not in result.column_names:
            result = result.append_column("query_index", pa.array(np.zeros(result.num_rows, np.int32)))
        parts.append(_current(snapshot, modality, result.append_column(
            "similarity", pc.subtract(1.0, result["_distance"]).cast(pa.float32())), first))
    return Hits.from_table(pa.concat_tables(parts))


def _current(snapshot: CatalogSnapshot, modality: str, result: pa.Table, first: int = 0) -> pa.Table:
    """The rows of ``result`` (``query_index`` counted from ``first``) that are current fingerprints."""
    current = snapshot.current(modality, result["video_id"].to_numpy(zero_copy_only=False),
                               result["batch_id"].to_numpy())
    if not current.all():
        result = result.filter(pa.array(current))
    return pa.table({
        "query_index": pc.add(result["query_index"].cast(pa.int32()), first),
        "video_id": result["video_id"],
        "t_start": result["t_start"],
        "t_end": result["t_end"],
        "similarity": result["similarity"].cast(pa.float32()),
    }, schema=HITS_SCHEMA)

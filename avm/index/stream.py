"""Whole videos' current fingerprints streamed out of a fingerprints table in one pass (what a reindex derives
new fingerprints from), memory bounded by the videos in progress rather than by the table."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from avm.index.sql import sql_literal
from avm.index.store import SETS_TABLE, FingerprintStore
from avm.schema import fingerprint_schema

COLUMNS = ["video_id", "batch_id", "t_start", "t_end", "vector", "model_version"]


def set_sizes(store: FingerprintStore, modality: str, version: str) -> dict[str, tuple[int, int]]:
    """video id → (batch id, intervals) of the current fingerprint sets of (``modality``, ``version``)."""
    table = store.table(SETS_TABLE)
    if table is None:
        return {}
    rows = (table.search().where(f"modality = {sql_literal(modality)} AND model_version = {sql_literal(version)}")
            .select(["video_id", "batch_id", "n_intervals"]).limit(None).to_arrow())
    return {v: (b, n) for v, b, n in zip(rows["video_id"].to_pylist(), rows["batch_id"].to_pylist(),
                                         rows["n_intervals"].to_pylist(), strict=True)}


def current_videos(store: FingerprintStore, modality: str, version: str, video_ids: set[str],
                   batch_rows: int = 262_144) -> Iterator[tuple[str, pa.Table]]:
    """Each of ``video_ids`` that has a current set of (``modality``, ``version``), with its rows in time order.

    The table is read once, in batches; a video is yielded as soon as all the rows its set records are read
    (videos are written whole, so their rows lie together and few are in progress at once). A video whose rows
    are not all there is not yielded.
    """
    expected = {v: s for v, s in set_sizes(store, modality, version).items() if v in video_ids}
    table = store.fingerprints(modality, version)
    for video_id in [v for v, (_, n) in expected.items() if n == 0]:
        yield video_id, fingerprint_schema(1).empty_table().select(COLUMNS)
    if table is None:
        return
    pending: dict[str, list[pa.Table]] = {}
    counts: dict[str, int] = {}
    for batch in table.to_lance().to_batches(columns=COLUMNS, batch_size=batch_rows):
        ids = batch.column("video_id").to_numpy(zero_copy_only=False)
        batch_ids = batch.column("batch_id").to_numpy()
        keep = np.fromiter((expected.get(v, (-1, 0))[0] == b for v, b in zip(ids, batch_ids, strict=True)), bool,
                           count=len(ids))
        if not keep.any():
            continue
        rows, ids = pa.Table.from_batches([batch]).filter(pa.array(keep)), ids[keep]
        starts = [0, *(np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist()]  # runs of one video's rows
        for start, end in zip(starts, [*starts[1:], len(ids)], strict=True):
            video_id, part = ids[start], rows.slice(start, end - start)
            pending.setdefault(video_id, []).append(part)
            counts[video_id] = counts.get(video_id, 0) + part.num_rows
            if counts[video_id] == expected[video_id][1]:
                yield video_id, pa.concat_tables(pending.pop(video_id)).sort_by("t_start")

"""Batched, crash-safe writes of fingerprints and video rows (a few large commits per job)."""

from __future__ import annotations

import pyarrow as pa

from avm.index.store import FingerprintStore


class BatchedWriter:
    """Collects rows and commits them when ``max_rows`` fingerprint rows are pending (and at ``flush``).

    Within a flush, every modality's fingerprints are committed before the videos rows that mark them
    ``ok``, so an interrupted job never leaves an ``ok`` video with missing fingerprints.
    """

    def __init__(self, store: FingerprintStore, max_rows: int = 500_000) -> None:
        self.store = store
        self.max_rows = max_rows
        self._fingerprints: dict[str, list[pa.Table]] = {}
        self._videos: list[pa.Table] = []
        self._pending = 0
        self.rows_written: dict[str, int] = {}
        self.commits = 0

    def add(self, video_row: pa.Table, fingerprints: dict[str, pa.Table] | None = None) -> None:
        """Queue one video's row and its fingerprint rows per modality."""
        for modality, rows in (fingerprints or {}).items():
            self._fingerprints.setdefault(modality, []).append(rows)
            self._pending += rows.num_rows
        self._videos.append(video_row)
        if self._pending >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        """Commit everything queued: fingerprints first, then the videos rows."""
        for modality, tables in self._fingerprints.items():
            rows = pa.concat_tables(tables)
            self.store.add_fingerprints(modality, rows)
            self.rows_written[modality] = self.rows_written.get(modality, 0) + rows.num_rows
            self.commits += 1
        if self._videos:
            self.store.upsert_videos(pa.concat_tables(self._videos))
            self.commits += 1
        self._fingerprints, self._videos, self._pending = {}, [], 0

"""The calibration tables: match thresholds calibrated on one catalog state (JSON text under a key), and the
lines of shared content found per catalog video (kept across catalog states)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from avm.index.sql import sql_list, sql_literal
from avm.index.store import FingerprintStore
from avm.schema import CALIBRATION_SCHEMA, SHARED_LINES_SCHEMA

CALIBRATION_TABLE = "calibration"
SHARED_LINES_TABLE = "shared_lines"


def read_calibration(store: FingerprintStore, key: str) -> str | None:
    """The calibration stored under ``key`` (JSON text), or None."""
    if not store.has_table(CALIBRATION_TABLE):
        return None
    rows = (store.db.open_table(CALIBRATION_TABLE).search().where(f"key = {sql_literal(key)}")
            .select(["value"]).limit(1).to_arrow())
    return rows["value"][0].as_py() if rows.num_rows else None


def write_calibration(store: FingerprintStore, key: str, value: str) -> None:
    """Store a calibration (JSON text) under ``key``, replacing one stored under the same key."""
    row = pa.Table.from_pylist([{"key": key, "created_at": datetime.now(UTC), "value": value}],
                               schema=CALIBRATION_SCHEMA)
    with store.lock.held():  # two scans calibrating one catalog state at once insert one row, not two
        table = store.writable_table(CALIBRATION_TABLE, CALIBRATION_SCHEMA)
        table.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(row)


def read_shared_lines(store: FingerprintStore, key: str) -> pa.Table:
    """Every shared line stored under ``key`` (``SHARED_LINES_SCHEMA``; empty when there is none)."""
    table = store.table(SHARED_LINES_TABLE)
    if table is None:
        return SHARED_LINES_SCHEMA.empty_table()
    return table.search().where(f"key = {sql_literal(key)}").limit(None).to_arrow()


def write_shared_lines(store: FingerprintStore, key: str, lines: pa.Table) -> None:
    """Store the lines found for the videos in ``lines`` under ``key``, replacing what those videos had before
    (lines of an earlier batch of their fingerprints)."""
    if not lines.num_rows:
        return
    videos = sorted(set(lines["video_id"].to_pylist()))
    with store.lock.held():
        table = store.writable_table(SHARED_LINES_TABLE, SHARED_LINES_SCHEMA)
        for first in range(0, len(videos), 1000):
            table.delete(f"key = {sql_literal(key)} AND video_id IN {sql_list(videos[first:first + 1000])}")
        table.add(lines.select(SHARED_LINES_SCHEMA.names).cast(SHARED_LINES_SCHEMA))

"""The calibration table: match thresholds calibrated on one catalog state, stored as JSON text under a key."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from avm.index.sql import sql_literal
from avm.index.store import FingerprintStore
from avm.schema import CALIBRATION_SCHEMA

CALIBRATION_TABLE = "calibration"


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

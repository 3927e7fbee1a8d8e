"""The verdicts table: reviewers' verdicts on reported segment pairs, appended and never rewritten (two reviewers
saving at once both keep their row); the latest row of a (run, pair) is its verdict."""

from __future__ import annotations

import pyarrow as pa

from avm.index.sql import sql_literal
from avm.index.store import FingerprintStore
from avm.schema import PAIR_COLUMNS, VERDICTS_SCHEMA
from avm.types import Verdict

VERDICTS_TABLE = "verdicts"
VERDICT_KEY = ("run_id", *PAIR_COLUMNS)  # one pair of one run


def add_verdict(store: FingerprintStore, verdict: Verdict) -> None:
    """Append one verdict (a later one on the same pair supersedes it)."""
    with store.lock.held():  # the table's creation and the append, one writer at a time
        store.writable_table(VERDICTS_TABLE, VERDICTS_SCHEMA).add(Verdict.to_table([verdict]))


def verdict_rows(store: FingerprintStore, run_id: str | None = None, query_id: str | None = None,
                 history: bool = False) -> pa.Table:
    """Verdict rows (``VERDICTS_SCHEMA``), of one run and/or query when given: the latest per pair, or every row
    with ``history``; oldest first. Empty when none was ever saved."""
    table = store.table(VERDICTS_TABLE)
    if table is None:
        return VERDICTS_SCHEMA.empty_table()
    where = [f"{name} = {sql_literal(value)}" for name, value in (("run_id", run_id), ("query_id", query_id))
             if value is not None]
    query = table.search().limit(None)
    rows = (query.where(" AND ".join(where)) if where else query).to_arrow().sort_by("created_at")
    if history or not rows.num_rows:
        return rows
    latest = (rows.select(list(VERDICT_KEY)).append_column("row", pa.array(range(rows.num_rows)))
              .group_by(list(VERDICT_KEY), use_threads=False).aggregate([("row", "max")]))
    return rows.take(latest["row_max"].sort())  # oldest first


def read_verdicts(store: FingerprintStore, run_id: str | None = None, query_id: str | None = None) -> list[Verdict]:
    """The latest verdict on each pair (of one run and/or query when given)."""
    return Verdict.from_table(verdict_rows(store, run_id, query_id))

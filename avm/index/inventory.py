"""What the catalog holds: its videos and, per table, rows, index coverage, versions and bytes (read only)."""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from avm.index.maintenance import AUDIT_TABLE, folder_bytes, leftover_rows
from avm.index.store import SETS_TABLE, VIDEOS_TABLE, FingerprintStore

LIST_COLUMNS = ["video_id", "status", "duration", "model_versions", "n_intervals", "ingested_at", "uri", "error"]


def video_list(store: FingerprintStore, status: str | None = None) -> pa.Table:
    """The videos table (``LIST_COLUMNS``), optionally of one status, sorted by id."""
    rows = store.videos(LIST_COLUMNS)
    if status:
        rows = rows.filter(pc.equal(rows["status"], status))
    return rows.sort_by("video_id")


def _table_bytes(store: FingerprintStore, name: str) -> int:
    if store.local_dir is not None:
        return folder_bytes(os.path.join(store.local_dir, f"{name}.lance"))
    table = store.table(name)
    return int(table.stats()["total_bytes"]) if table is not None else 0


def _table_stats(store: FingerprintStore, name: str) -> dict[str, Any]:
    table = store.table(name)
    out: dict[str, Any] = {"rows": table.count_rows(), "version": table.version, "bytes": _table_bytes(store, name)}
    vector_index = next((i for i in table.list_indices() if "vector" in i.columns), None)
    if vector_index is not None:
        stats = table.index_stats(vector_index.name)
        out.update(index=stats.index_type, indexed_rows=stats.num_indexed_rows,
                   unindexed_rows=stats.num_unindexed_rows,
                   trained_on_rows=(store.setting(f"index/{name}") or {}).get("rows"))
    elif name in store.fingerprint_tables():
        out.update(index="none (exact search)", indexed_rows=0, unindexed_rows=out["rows"])
    return out


def catalog_stats(store: FingerprintStore) -> dict[str, Any]:
    """Videos per status with their hours, active and previous model versions, and per table: rows, table
    version, bytes, indexed and unindexed rows, and leftover rows that no search sees."""
    videos = store.videos(["status", "duration"]).to_pandas()
    by_status = {status: {"videos": int(len(group)), "hours": round(float(group["duration"].fillna(0).sum()) / 3600, 4)}
                 for status, group in videos.groupby("status")}
    names = [n for n in (VIDEOS_TABLE, SETS_TABLE, AUDIT_TABLE) if store.has_table(n)] + store.fingerprint_tables()
    return {
        "uri": store.opts.uri,
        "videos": by_status,
        "active_versions": store.active_versions(),
        "previous_versions": store.previous_versions(),
        "tables": {name: _table_stats(store, name) for name in names},
        "leftover_rows": leftover_rows(store),
        "bytes": sum(_table_bytes(store, n) for n in store.table_names()),
    }


def stats_lines(stats: dict[str, Any]) -> list[str]:
    """``catalog_stats`` as a few readable lines."""
    out = [f"catalog {stats['uri']}: {stats['bytes'] / 1e6:.2f} MB"]
    out += [f"  {status}: {v['videos']} videos, {v['hours']:.3f} h" for status, v in sorted(stats["videos"].items())]
    out.append(f"  active models: {stats['active_versions']}; previous: {stats['previous_versions'] or 'none'}")
    for name, t in stats["tables"].items():
        index = (f", index {t['index']}: {t['indexed_rows']} indexed / {t['unindexed_rows']} not yet"
                 if "index" in t else "")
        out.append(f"  {name}: {t['rows']} rows, version {t['version']}, {t['bytes'] / 1e6:.2f} MB{index}")
    if stats["leftover_rows"]:
        out.append(f"  leftover rows (never searched; removed by the next write): {stats['leftover_rows']}")
    return out

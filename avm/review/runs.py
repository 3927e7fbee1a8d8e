"""Scan runs as the review page reads them: one run's rows at a time, filtered in the Parquet scan (never the whole
results dataset in memory), grouped per query and paged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from avm import storage
from avm.results import RUN_PARTITION, scan_runs
from avm.schema import MATCHES_SCHEMA


@dataclass(frozen=True)
class QueryFilter:
    """What the query list shows: query ids containing ``text``, pairs with a reference id containing ``ref``,
    a score of at least ``min_score``, evidence ``evidence`` (``audio``, ``visual``, ``audio+visual``)."""

    text: str = ""
    ref: str = ""
    min_score: float | None = None
    evidence: str = ""

    def expression(self, run_id: str) -> ds.Expression:
        expr = ds.field(RUN_PARTITION) == run_id
        if self.text:
            expr &= pc.match_substring(ds.field("query_id"), self.text, ignore_case=True)
        if self.ref:
            expr &= pc.match_substring(ds.field("ref_id"), self.ref, ignore_case=True)
        if self.min_score is not None:
            expr &= ds.field("score") >= self.min_score
        if self.evidence:
            expr &= ds.field("modality") == self.evidence
        return expr


class ResultsFolder:
    """The runs of one results folder (a scan job's ``output_dir``: ``matches/run=<id>/`` and ``runs/<id>.json``),
    local or on an object store."""

    def __init__(self, root: str, kind: str) -> None:
        self.root, self.kind = root, kind
        self.matches = storage.join(root, "matches")

    def run_ids(self) -> list[str]:
        """Run ids, oldest first; none when the folder holds no run."""
        try:
            return scan_runs(self.matches)
        except (FileNotFoundError, OSError):
            return []

    def meta(self, run_id: str) -> dict[str, Any]:
        """The run's metadata (``runs/<id>.json``; empty when missing)."""
        try:
            return json.loads(storage.read_bytes(storage.join(self.root, "runs", f"{run_id}.json")))
        except (FileNotFoundError, OSError, ValueError):
            return {}

    def rows(self, run_id: str, where: QueryFilter | None = None, query_id: str | None = None,
             columns: list[str] | None = None) -> pa.Table:
        """The run's pair rows (``MATCHES_SCHEMA`` columns) that pass ``where`` and belong to ``query_id``."""
        fs, path = storage.filesystem(self.matches)
        dataset = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive")
        expr = (where or QueryFilter()).expression(run_id)
        if query_id is not None:
            expr &= ds.field("query_id") == query_id
        names = [n for n in (columns or MATCHES_SCHEMA.names) if n in dataset.schema.names]
        return dataset.to_table(columns=names, filter=expr)


def query_summaries(rows: pa.Table, reviewed: dict[str, int]) -> list[dict[str, Any]]:
    """Per query of ``rows``: its pairs, references, best score, evidence kinds and reviewed pairs; best first."""
    if not rows.num_rows:
        return []
    grouped = rows.group_by("query_id", use_threads=False).aggregate(
        [("ref_id", "count"), ("ref_id", "count_distinct"), ("score", "max"), ("modality", "distinct")])
    out = [{"query_id": row["query_id"], "pairs": row["ref_id_count"], "references": row["ref_id_count_distinct"],
            "best_score": row["score_max"], "evidence": sorted(row["modality_distinct"]),
            "reviewed": reviewed.get(row["query_id"], 0)} for row in grouped.to_pylist()]
    return sorted(out, key=lambda q: (-q["best_score"], q["query_id"]))

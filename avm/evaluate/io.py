"""Reading predictions and ground truth as :class:`avm.types.Segment` lists.

We read:

* the organisers' ground-truth CSV (``HACKATHON_GT_COLUMNS``: ``ID_piracy, segment, ID_license,
  segment``; pandas renames the second ``segment`` to ``segment.1``),
* our own submission CSV (``HACKATHON_PRED_COLUMNS``, written by ``avm.results.write_hackathon_csv``), both
  with ``"start-end"`` segments in seconds,
* a CSV with the ``PAIR_COLUMNS`` themselves (VSC-2022 style, optional ``score``),
* a Parquet file or dataset directory of ``MATCHES_SCHEMA`` rows (scan output, ``avm.results.read_matches``).

Ids are kept as written; the evaluator compares them without video extension (:mod:`avm.evaluate.pairs`).
A CSV without scores gives every segment ``score = 1.0``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from avm.results import read_matches
from avm.schema import HACKATHON_GT_COLUMNS, HACKATHON_PRED_COLUMNS, PAIR_COLUMNS
from avm.storage import is_object_store
from avm.types import Segment

_SEGMENT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*$")
# Hackathon CSV headers, in the order id, segment, id, segment (query side first).
_HACKATHON_FORMATS = (HACKATHON_GT_COLUMNS, HACKATHON_PRED_COLUMNS)


def parse_segment(text: object) -> tuple[float, float]:
    """``"12-47"`` -> ``(12.0, 47.0)``; raises ``ValueError`` on anything else or end < start."""
    m = _SEGMENT.match(str(text))
    if m is None:
        raise ValueError(f"bad segment {text!r}: expected 'start-end' in seconds")
    start, end = float(m[1]), float(m[2])
    if end < start:
        raise ValueError(f"bad segment {text!r}: end before start")
    return start, end


def _hackathon_segments(raw: pd.DataFrame, columns: tuple[str, ...], source: str) -> list[Segment]:
    """The four hackathon columns of ``raw`` as segments, naming the bad row on error."""
    segments = []
    for i, row in enumerate(raw[list(columns)].itertuples(index=False, name=None)):
        try:
            if not str(row[0]).strip() or not str(row[2]).strip():
                raise ValueError("empty video id")
            (qs, qe), (rs, re_) = parse_segment(row[1]), parse_segment(row[3])
        except ValueError as err:
            # +2: line 1 is the header and rows count from 0.
            raise ValueError(f"{source}: line {i + 2} {dict(zip(columns, row, strict=True))}: {err}") from None
        segments.append(Segment(str(row[0]), qs, qe, str(row[2]), rs, re_))
    return segments


def _pair_column_segments(raw: pd.DataFrame) -> list[Segment]:
    """Rows with the ``PAIR_COLUMNS`` (and ``score`` if present) as segments."""
    columns = [c for c in (*PAIR_COLUMNS, "score") if c in raw.columns]
    cells = [raw[c].astype(str).tolist() if c in ("query_id", "ref_id") else raw[c].to_numpy(dtype=np.float64).tolist()
             for c in columns]
    return [Segment(**dict(zip(columns, row, strict=True))) for row in zip(*cells, strict=True)]


def segments_from_rows(raw: pd.DataFrame, source: str) -> list[Segment]:
    """Segments from a table of text cells in any of the CSV layouts above (other columns are ignored).

    ``source`` names the table in errors (e.g. the file's path).
    """
    for columns in _HACKATHON_FORMATS:
        if set(columns) <= set(raw.columns):
            return _hackathon_segments(raw, columns, source)
    if set(PAIR_COLUMNS) <= set(raw.columns):
        try:
            return _pair_column_segments(raw)
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None
    raise ValueError(
        f"{source}: unrecognised CSV header {list(raw.columns)}; expected {list(HACKATHON_GT_COLUMNS)}, "
        f"{list(HACKATHON_PRED_COLUMNS)} or {list(PAIR_COLUMNS)}"
    )


def _read_csv(path: str | Path) -> list[Segment]:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    return segments_from_rows(raw, str(path))


def read_ground_truth_csv(path: str | Path) -> list[Segment]:
    """Ground-truth segment pairs from a CSV (organisers', our submission or the ``PAIR_COLUMNS`` layout)."""
    return _read_csv(path)


def read_predictions(path: str | Path, run_id: str | None = None) -> list[Segment]:
    """Predicted segment pairs from a Parquet file or dataset directory (``MATCHES_SCHEMA``; of a scan output,
    the run ``run_id``, by default the latest; local or on an object store) or a CSV."""
    if is_object_store(str(path)) and not str(path).lower().endswith(".csv"):
        return read_matches(str(path), run_id)
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return read_matches(path, run_id)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    raise ValueError(f"{path}: predictions must be a .csv, a .parquet file or a Parquet directory")

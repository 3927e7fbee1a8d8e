"""Reading and writing segment-pair tables (ground truth and predictions).

Internally a segment-pair table is a DataFrame with the columns of ``avm.schema.PAIR_COLUMNS``
(ids as ``str``, times as float seconds) plus ``score`` for predictions. Video ids are compared
without a trailing video extension (``"abc.mp4"`` and ``"abc"`` are the same video).

On disk we read:

* the organisers' ground-truth CSV (``HACKATHON_GT_COLUMNS``: ``ID_piracy, segment, ID_license,
  segment``; pandas renames the second ``segment`` to ``segment.1``),
* our own submission CSV (``HACKATHON_PRED_COLUMNS``), both with ``"start-end"`` segments,
* a CSV with the ``PAIR_COLUMNS`` themselves (VSC-2022 style, optional ``score``),
* a Parquet file or dataset directory of ``MATCHES_SCHEMA`` rows (scan output).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from avm.schema import HACKATHON_GT_COLUMNS, HACKATHON_PRED_COLUMNS, PAIR_COLUMNS

SCORE = "score"
ID_COLUMNS = ("query_id", "ref_id")
TIME_COLUMNS = ("query_start", "query_end", "ref_start", "ref_end")

_VIDEO_EXT = re.compile(r"\.(mp4|m4v|mkv|mov|avi|webm|flv|wmv|mpe?g)$", re.IGNORECASE)
_SEGMENT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*$")
# Hackathon CSV headers, in the order id, segment, id, segment (query side first).
_HACKATHON_FORMATS = (HACKATHON_GT_COLUMNS, HACKATHON_PRED_COLUMNS)


def strip_video_ext(video_id: object) -> str:
    """``"abc.mp4"`` -> ``"abc"``; surrounding whitespace is dropped as well."""
    return _VIDEO_EXT.sub("", str(video_id).strip())


def as_pairs(df: pd.DataFrame, *, with_score: bool = False) -> pd.DataFrame:
    """A fresh, typed copy of ``df`` restricted to the pair columns (plus ``score`` if asked).

    Ids become ``str`` without a video extension, times ``float64``. A missing ``score`` column
    is filled with 1.0, as for a CSV submission, which carries no scores.
    """
    missing = [c for c in PAIR_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"segment-pair table lacks columns {missing}; has {list(df.columns)}")
    out = pd.DataFrame({c: df[c].astype(str).map(strip_video_ext) for c in ID_COLUMNS})
    for c in TIME_COLUMNS:
        out[c] = df[c].to_numpy(dtype=np.float64)
    if with_score:
        out[SCORE] = df[SCORE].to_numpy(dtype=np.float64) if SCORE in df.columns else 1.0
    return out[list(PAIR_COLUMNS) + ([SCORE] if with_score else [])].reset_index(drop=True)


def _round_half_up(x: pd.Series) -> pd.Series:
    return np.floor(x + 0.5)


def to_whole_seconds(df: pd.DataFrame) -> pd.DataFrame:
    """Round segment bounds the way ``write_hackathon_csv`` does; other columns are kept.

    Both ends are rounded to the nearest second (halves up), starts are clipped at 0, and
    every end is pushed to at least ``start + 1`` so no segment collapses to zero length.
    """
    out = df.copy()
    for side in ("query", "ref"):
        start = _round_half_up(out[f"{side}_start"].astype(np.float64)).clip(lower=0.0)
        end = _round_half_up(out[f"{side}_end"].astype(np.float64))
        out[f"{side}_start"] = start
        out[f"{side}_end"] = np.maximum(end, start + 1.0)
    return out


def format_segment(start: float, end: float) -> str:
    """``(12.0, 47.0)`` -> ``"12-47"`` (bounds must already be whole seconds)."""
    return f"{int(start)}-{int(end)}"


def parse_segment(text: object) -> tuple[float, float]:
    """``"12-47"`` -> ``(12.0, 47.0)``; raises ``ValueError`` on anything else or end < start."""
    m = _SEGMENT.match(str(text))
    if m is None:
        raise ValueError(f"bad segment {text!r}: expected 'start-end' in seconds")
    start, end = float(m[1]), float(m[2])
    if end < start:
        raise ValueError(f"bad segment {text!r}: end before start")
    return start, end


def write_hackathon_csv(pairs_df: pd.DataFrame, path: str | Path) -> None:
    """Write a submission CSV (``HACKATHON_PRED_COLUMNS``); ids are written as given."""
    rounded = to_whole_seconds(pairs_df)
    out = pd.DataFrame(
        {
            HACKATHON_PRED_COLUMNS[0]: rounded["query_id"].astype(str),
            HACKATHON_PRED_COLUMNS[1]: list(map(format_segment, rounded["query_start"], rounded["query_end"])),
            HACKATHON_PRED_COLUMNS[2]: rounded["ref_id"].astype(str),
            HACKATHON_PRED_COLUMNS[3]: list(map(format_segment, rounded["ref_start"], rounded["ref_end"])),
        },
        columns=list(HACKATHON_PRED_COLUMNS),
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)


def _parse_hackathon_rows(raw: pd.DataFrame, columns: tuple[str, ...], path: Path) -> pd.DataFrame:
    """Turn the four hackathon columns of ``raw`` into a pair table, naming the bad row on error."""
    q_id, q_seg, r_id, r_seg = columns
    records = []
    for i, row in enumerate(raw[list(columns)].itertuples(index=False, name=None)):
        try:
            if not str(row[0]).strip() or not str(row[2]).strip():
                raise ValueError("empty video id")
            (qs, qe), (rs, re_) = parse_segment(row[1]), parse_segment(row[3])
        except ValueError as err:
            # +2: line 1 is the header and rows count from 0.
            raise ValueError(f"{path}: line {i + 2} {dict(zip(columns, row))}: {err}") from None
        records.append((row[0], qs, qe, row[2], rs, re_))
    df = pd.DataFrame.from_records(records, columns=list(PAIR_COLUMNS))
    return as_pairs(df)


def _read_csv_pairs(path: str | Path) -> pd.DataFrame:
    """Read any of the supported CSV layouts into a pair table (``score`` kept only if present)."""
    path = Path(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    for columns in _HACKATHON_FORMATS:
        if set(columns) <= set(raw.columns):
            return _parse_hackathon_rows(raw, columns, path)
    if set(PAIR_COLUMNS) <= set(raw.columns):
        try:
            return as_pairs(raw, with_score=SCORE in raw.columns)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    raise ValueError(
        f"{path}: unrecognised CSV header {list(raw.columns)}; expected {list(HACKATHON_GT_COLUMNS)}, "
        f"{list(HACKATHON_PRED_COLUMNS)} or {list(PAIR_COLUMNS)}"
    )


def read_ground_truth_csv(path: str | Path) -> pd.DataFrame:
    """Read a ground-truth CSV (organisers' or our submission layout) into a pair table."""
    return _read_csv_pairs(path)[list(PAIR_COLUMNS)]


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read predictions: Parquet file/dataset directory (``MATCHES_SCHEMA``) or a CSV.

    CSVs carry no score in the hackathon layouts; their rows get ``score = 1.0``.
    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.dataset as ds

        dataset = ds.dataset(path, format="parquet", partitioning="hive")
        wanted = [c for c in (*PAIR_COLUMNS, SCORE) if c in dataset.schema.names]
        return as_pairs(dataset.to_table(columns=wanted).to_pandas(), with_score=True)
    if path.suffix.lower() == ".csv":
        return as_pairs(_read_csv_pairs(path), with_score=True)
    raise ValueError(f"{path}: predictions must be a .csv, a .parquet file or a Parquet directory")

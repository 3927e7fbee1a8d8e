"""Pin the hackathon metric and VSC segment AP on hand-computed cases; CSV/Parquet I/O round trips."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from avm.evaluate import evaluate, format_table, pairs_frame, read_ground_truth_csv, read_predictions, write_json
from avm.evaluate.hackathon import hackathon_metrics
from avm.evaluate.pairs import to_whole_seconds
from avm.evaluate.vsc import segment_ap, segment_pr_curve
from avm.results import read_matches, scan_runs, write_hackathon_csv, write_matches
from avm.schema import MATCHES_SCHEMA, PAIR_COLUMNS
from avm.types import Segment


def pairs(*rows: tuple) -> list[Segment]:
    """Segments from rows of (query_id, qs, qe, ref_id, rs, re[, score])."""
    return [Segment(*row) for row in rows]


def frames(pred: list[Segment], gt: list[Segment]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pair frames the metric kernels take."""
    return pairs_frame(pred), pairs_frame(gt)


# ---------------------------------------------------------------- hackathon metric


def test_hackathon_perfect_prediction():
    gt = pairs(("q1", 0, 10, "r1", 5, 15), ("q2", 3, 8, "r1", 0, 5))
    m = hackathon_metrics(*frames(gt, gt))
    # tp=2, fp=fn=0 -> P=R=F1=1; both rows IoU 1 -> IoU_final=2/2=1 -> final=1.
    assert (m["tp"], m["fp"], m["fn"]) == (2, 0, 0)
    assert m["final"] == pytest.approx(1.0)
    assert (m["n_gt"], m["n_pred"], m["n_pairs"], m["n_queries"]) == (2, 2, 2, 2)


def test_hackathon_unknown_pair_is_false_positive():
    gt = pairs(("q1", 0, 10, "r1", 0, 10))
    pred = pairs(("q1", 0, 10, "r1", 0, 10), ("q1", 0, 10, "r2", 0, 10))
    m = hackathon_metrics(*frames(pred, gt))
    # tp=1, fp=1 (pair q1/r2 not in GT), fn=0 -> P=1/2, R=1, F1=2*(1/2)/(3/2)=2/3.
    # IoU_final = 1 / (N_gt=1 + FP=1) = 1/2.  final = 2*(2/3)*(1/2)/(2/3+1/2) = 4/7.
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 0)
    assert m["precision"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["iou"] == pytest.approx(0.5)
    assert m["final"] == pytest.approx(4 / 7)


def test_hackathon_missing_row_is_false_negative():
    gt = pairs(("q1", 0, 10, "r1", 0, 10), ("q1", 20, 30, "r1", 40, 50))
    pred = pairs(("q1", 0, 10, "r1", 0, 10))
    m = hackathon_metrics(*frames(pred, gt))
    # Pair q1/r1: 2 true rows, 1 predicted -> tp=1, fn=1. P=1, R=1/2, F1=2/3.
    # Row IoUs: 1 (exact) and 0 (no overlap with the only prediction) -> IoU_final=(1+0)/(2+0)=1/2.
    assert (m["tp"], m["fp"], m["fn"]) == (1, 0, 1)
    assert m["recall"] == pytest.approx(0.5)
    assert m["iou"] == pytest.approx(0.5)
    assert m["final"] == pytest.approx(4 / 7)
    assert (m["n_pairs"], m["n_queries"]) == (1, 1)


def test_hackathon_partial_overlap_iou():
    gt = pairs(("q1", 0, 10, "r1", 0, 10))
    pred = pairs(("q1", 5, 15, "r1", 0, 5))
    m = hackathon_metrics(*frames(pred, gt))
    # piracy: [0,10] vs [5,15] -> 5/15 = 1/3; license: [0,10] vs [0,5] -> 5/10 = 1/2; IoU = 1/6.
    # F1 = 1 -> final = 2*(1/6)/(1+1/6) = 2/7.
    assert m["iou"] == pytest.approx(1 / 6)
    assert m["final"] == pytest.approx(2 / 7)


def test_hackathon_best_prediction_per_gt_row_and_surplus():
    gt = pairs(("q1", 0, 10, "r1", 0, 10))
    pred = pairs(("q1", 5, 15, "r1", 0, 5), ("q1", 0, 10, "r1", 0, 10))
    m = hackathon_metrics(*frames(pred, gt))
    # 2 predictions for 1 true row: tp=1, fp=1. The row takes the better IoU (1, not 1/6):
    # IoU_final = 1/(1+1) = 1/2.
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 0)
    assert m["iou"] == pytest.approx(0.5)


def test_hackathon_ids_match_across_extensions_and_empty_prediction():
    gt = pairs(("q1.mp4", 0, 10, "r1.MP4", 0, 10))
    assert hackathon_metrics(*frames(pairs(("q1", 0, 10, "r1", 0, 10)), gt))["final"] == pytest.approx(1.0)
    m = hackathon_metrics(*frames(pairs(), gt))
    assert (m["tp"], m["fp"], m["fn"], m["final"]) == (0, 0, 1, 0.0)


# ---------------------------------------------------------------- VSC segment AP


def test_segment_ap_perfect():
    gt = pairs(("q1", 0, 10, "r1", 0, 10), ("q2", 5, 20, "r3", 30, 45))
    assert segment_ap(*frames(gt, gt)) == pytest.approx(1.0)


def test_segment_ap_depends_on_score_order():
    gt = pairs(("qA", 0, 10, "rA", 0, 10), ("qB", 0, 10, "rB", 0, 10))  # 20 s of GT per axis
    wrong_first = pairs(
        ("qA", 0, 10, "rB", 0, 10, 0.9),  # pair not in GT
        ("qA", 0, 10, "rA", 0, 10, 0.8),
        ("qB", 0, 10, "rB", 0, 10, 0.7),
    )
    # step 1: hit 0, covered 10      -> P=0,   R=0
    # step 2: hit 10, covered 20     -> P=1/2, R=1/2 -> += 1/2 * 1/2 = 1/4
    # step 3: hit 20, covered 30     -> P=2/3, R=1   -> += 2/3 * 1/2 = 1/3   => AP = 7/12
    assert segment_ap(*frames(wrong_first, gt)) == pytest.approx(7 / 12)
    # Same boxes, the wrong one scored last: P=1 while recall climbs to 1, then no recall gain.
    wrong_last = [replace(s, score=v) for s, v in zip(wrong_first, [0.1, 0.8, 0.7], strict=True)]
    assert segment_ap(*frames(wrong_last, gt)) == pytest.approx(1.0)
    curve = segment_pr_curve(*frames(wrong_first, gt))
    assert curve["precision"].tolist() == pytest.approx([0.0, 0.5, 2 / 3])
    assert curve["recall"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_segment_ap_equal_scores_are_one_step():
    gt = pairs(("qA", 0, 10, "rA", 0, 10))
    pred = pairs(("qA", 0, 10, "rA", 0, 10, 0.5), ("qB", 0, 10, "rB", 0, 10, 0.5))
    # One step: hit 10, covered 20 -> P=1/2, R=1 -> AP=1/2 (taken one by one it would be 1).
    assert segment_ap(*frames(pred, gt)) == pytest.approx(0.5)


def test_segment_ap_partial_overlap_per_axis():
    gt = pairs(("q1", 0, 10, "r1", 100, 110))
    pred = pairs(("q1", 5, 15, "r1", 100, 105, 1.0))
    # query axis: hit 5, covered 10, gt 10 -> P=1/2, R=1/2
    # ref axis:   hit 5, covered 5,  gt 10 -> P=1,   R=1/2
    # P = sqrt(1/2 * 1) , R = sqrt(1/2 * 1/2) = 1/2 -> AP = sqrt(1/2)/2
    assert segment_ap(*frames(pred, gt)) == pytest.approx(math.sqrt(0.5) / 2)


def test_segment_ap_needs_2d_overlap_and_does_not_double_count():
    gt = pairs(("q1", 0, 10, "r1", 0, 10))
    # Same query interval but a disjoint reference interval: the boxes do not overlap, so the
    # GT box stays inactive and even the query-axis overlap earns nothing.
    assert segment_ap(*frames(pairs(("q1", 0, 10, "r1", 20, 30, 1.0)), gt)) == 0.0
    # A duplicate prediction adds neither hit nor covered length: precision stays 1.
    dup = pairs(("q1", 0, 10, "r1", 0, 10, 0.9), ("q1", 0, 10, "r1", 0, 10, 0.8))
    assert segment_ap(*frames(dup, gt)) == pytest.approx(1.0)


def test_segment_ap_rejects_nan_score_and_handles_empty():
    gt = pairs(("q1", 0, 10, "r1", 0, 10))
    with pytest.raises(ValueError, match="finite"):
        segment_ap(*frames(pairs(("q1", 0, 10, "r1", 0, 10, float("nan"))), gt))
    assert segment_ap(*frames(pairs(), gt)) == 0.0
    assert segment_ap(*frames(gt, pairs())) == 0.0


# ---------------------------------------------------------------- report


def test_evaluate_rounds_for_hackathon_but_not_for_ap(tmp_path):
    gt = pairs(("q1", 0, 10, "r1", 0, 10))
    pred = pairs(("q1", 0.4, 9.6, "r1", 0.2, 10.4, 0.7))
    m = evaluate(pred, gt)
    # Rounded to [0,10]x[0,10] -> exact hit for the hackathon metric.
    assert m["final"] == pytest.approx(1.0)
    # Unrounded for AP: query hit 9.2 of covered 9.2 / gt 10; ref hit 9.8 of covered 10.2 / gt 10.
    assert m["segment_ap"] == pytest.approx(math.sqrt(1.0 * 9.8 / 10.2) * math.sqrt(0.92 * 0.98))

    table = format_table(m)
    assert table.splitlines()[0].split() == ["metric", "value"]
    assert any(line.split() == ["final", "1.0000"] for line in table.splitlines())
    write_json(m, tmp_path / "out" / "metrics.json")
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == pytest.approx(m)


# ---------------------------------------------------------------- I/O


def test_to_whole_seconds_rounds_half_up_and_keeps_segments_non_empty():
    df = pairs_frame(pairs(("q", 2.5, 7.49, "r", 3.2, 3.4, 0.3)))
    out = to_whole_seconds(df)
    assert out.loc[0, ["query_start", "query_end", "ref_start", "ref_end"]].tolist() == [3.0, 7.0, 3.0, 4.0]
    assert out.loc[0, "score"] == 0.3
    assert df.loc[0, "query_start"] == 2.5  # input untouched


def test_write_then_read_csv_round_trip_with_mp4_ids(tmp_path):
    path = tmp_path / "sub.csv"
    write_hackathon_csv(pairs(("a.mp4", 0.2, 9.7, "b.mp4", 3.0, 13.4, 0.9)), path)
    assert path.read_text().splitlines() == ["ID-piracy,SEG-piracy,ID-license,SEG-license", "a.mp4,0-10,b.mp4,3-13"]
    gt = read_ground_truth_csv(path)
    assert gt == pairs(("a.mp4", 0.0, 10.0, "b.mp4", 3.0, 13.0))  # ids as written
    assert list(pairs_frame(gt).columns) == [*PAIR_COLUMNS, "score"]
    assert pairs_frame(gt)[list(PAIR_COLUMNS)].iloc[0].tolist() == ["a", 0.0, 10.0, "b", 3.0, 13.0]
    pred = read_predictions(path)
    assert pairs_frame(pred).iloc[0].tolist() == ["a", 0.0, 10.0, "b", 3.0, 13.0, 1.0]


def test_read_organisers_ground_truth(tmp_path):
    path = tmp_path / "gt.csv"
    # The organisers' file repeats the "segment" header; pandas reads the second as "segment.1".
    path.write_text("ID_piracy,segment,ID_license,segment\nx.mp4,12-47,007.MP4,100-135\nx.mp4,50-60,y,0-10\n")
    gt = pairs_frame(read_ground_truth_csv(path))
    assert gt["query_id"].tolist() == ["x", "x"]
    assert gt["ref_id"].tolist() == ["007", "y"]  # string ids keep leading zeros
    assert [s.ref_id for s in read_ground_truth_csv(path)] == ["007.MP4", "y"]
    assert gt[["query_start", "query_end", "ref_start", "ref_end"]].to_numpy().tolist() == [
        [12.0, 47.0, 100.0, 135.0],
        [50.0, 60.0, 0.0, 10.0],
    ]


@pytest.mark.parametrize("bad", ["12_47", "47-12", "abc", ""])
def test_malformed_segment_names_file_and_row(tmp_path, bad):
    path = tmp_path / "broken_gt.csv"
    path.write_text(f"ID_piracy,segment,ID_license,segment.1\nx,1-2,y,3-4\nx,{bad},y,5-6\n")
    with pytest.raises(ValueError, match=r"broken_gt\.csv: line 3") as err:
        read_ground_truth_csv(path)
    assert repr(bad) in str(err.value)


def test_unknown_header_is_rejected(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("a,b,c,d\n1,2,3,4\n")
    with pytest.raises(ValueError, match="unrecognised CSV header"):
        read_ground_truth_csv(path)


def test_read_predictions_parquet_file_and_directory(tmp_path):
    rows = {
        "query_id": ["q1.mp4", "q2"],
        "query_start": [0.5, 1.0],
        "query_end": [9.5, 4.0],
        "ref_id": ["r1", "r2"],
        "ref_start": [10.0, 0.0],
        "ref_end": [19.0, 3.0],
        "score": [0.8, 0.4],
        "modality": ["audio", "visual"],
        "n_hits": [5, 2],
        "speed": [1.0, 1.05],
        "run_id": ["run", "run"],
        "query_uri": ["/up/q1.mp4", "/up/q2.mp4"],
        "ref_uri": ["/cat/r1.mp4", "/cat/r2.mp4"],
    }
    table = pa.Table.from_pydict(rows, schema=MATCHES_SCHEMA)
    (tmp_path / "scan").mkdir()
    pq.write_table(table.slice(0, 1), tmp_path / "scan" / "part-0.parquet")
    pq.write_table(table.slice(1, 1), tmp_path / "scan" / "part-1.parquet")
    pq.write_table(table, tmp_path / "all.parquet")

    for path in (tmp_path / "all.parquet", tmp_path / "scan"):
        segments = read_predictions(path)
        assert sorted(segments, key=lambda s: s.query_id) == Segment.from_table(table)
        pred = pairs_frame(segments).sort_values("query_id").reset_index(drop=True)
        assert list(pred.columns) == [*PAIR_COLUMNS, "score"]
        assert pred["query_id"].tolist() == ["q1", "q2"]
        assert pred["score"].tolist() == [0.8, 0.4]
        assert pred["query_end"].tolist() == [9.5, 4.0]


def test_write_matches_reads_back_identical_segments(tmp_path):
    segments = pairs(("q1", 0.25, 9.75, "r1.mp4", 10.125, 19.5, 0.8), ("q2", 1.0, 4.0, "r2", 0.0, 3.1, 0.45))
    segments = [replace(segments[0], modality="audio+visual", n_hits=7, speed=1.05),
                replace(segments[1], modality="visual", n_hits=2)]
    paths = write_matches(segments, tmp_path / "scan", {"run_id": "run1"}, {"q1": "/up/q1.mp4"}, {"r2": "/cat/r2.mp4"})
    assert read_predictions(paths["matches"]) == segments
    part = Path(paths["run_partition"]) / "part-0.parquet"
    assert read_matches(part) == segments
    stored = pq.read_table(part)
    assert stored.schema.equals(MATCHES_SCHEMA) and set(stored["run_id"].to_pylist()) == {"run1"}
    assert stored["query_uri"].to_pylist() == ["/up/q1.mp4", None] and stored["ref_uri"].to_pylist() == [None, "/cat/r2.mp4"]
    # a second run adds its own partition, leaves the first as it was, and is what readers get by default
    first = part.read_bytes()
    write_matches(segments[:1], tmp_path / "scan", {"run_id": "run2"})
    assert part.read_bytes() == first and scan_runs(paths["matches"]) == ["run1", "run2"]
    assert read_matches(paths["matches"]) == segments[:1] and read_matches(paths["matches"], "run1") == segments
    assert json.loads((tmp_path / "scan" / "runs" / "run1.json").read_text()) == {"run_id": "run1"}
    assert read_predictions(paths["csv"]) == pairs(("q1", 0.0, 10.0, "r1.mp4", 10.0, 20.0))  # the latest run
    assert json.loads((tmp_path / "scan" / "run.json").read_text()) == {"run_id": "run2"}

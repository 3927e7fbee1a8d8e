"""The evaluation report: per-group metrics on a hand-computed case, false positives, files, and the job."""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from avm.evaluate.report import write_report
from avm.evaluate.tables import (
    UNASSIGNED,
    annotate_ground_truth,
    assign_predictions,
    breakdown,
    edit_names,
    false_positive_counts,
    format_breakdown,
    restrict_to_evidence,
)
from avm.schema import HACKATHON_GT_COLUMNS
from avm.types import Segment

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pairs(*rows: tuple) -> list[Segment]:
    """Segments from rows of (query_id, qs, qe, ref_id, rs, re[, score])."""
    return [Segment(*row) for row in rows]


# Ground truth as the benchmark writes it: ids with .mp4, "start-end" segments, one edits row per GT row.
GT_ROWS = [  # ID_piracy, segment, ID_license, segment.1, edits, evidence
    ("q1.mp4", "0-10", "r1.mp4", "0-10", "crop(frac=0.1,x=0.88,y=1.0);volume(db=5)", "both"),  # found exactly
    ("q1.mp4", "20-30", "r2.mp4", "5-15", "speed(factor=1.1)", "visual"),  # missed
    ("q2.mp4", "0-10", "r1.mp4", "30-40", "crop(frac=0.2,x=0.1,y=0.5)", "audio"),  # found, half on each axis
    ("q2.mp4", "20-40", "r3.mp4", "0-20", "blur(sigma=1.39)", "both"),  # found in two fragments
]
PRED = pairs(
    ("q1", 0, 10, "r1", 0, 10, 0.9),  # -> GT row 0
    ("q2", 5, 15, "r1", 30, 35, 0.8),  # -> GT row 2: query IoU 1/3, ref IoU 1/2
    ("q2", 20, 30, "r3", 0, 10, 0.7),  # -> GT row 3 (first half)
    ("q2", 30, 40, "r3", 10, 20, 0.6),  # -> GT row 3 (second half)
    ("q1", 40, 50, "r1", 0, 10, 0.5),  # known pair, but overlaps no GT row: unassigned
    ("q3", 0, 5, "r1", 0, 5, 0.95),  # negative query: unassigned
    ("q3", 10, 15, "r2", 0, 5, 0.4),  # negative query: unassigned
)
META = pd.DataFrame({"video_id": ["q1.mp4", "q2.mp4", "q3.mp4", "q4.mp4"],
                     "kind": ["pirated", "pirated", "negative", "negative"]})


def final(f1: float, iou: float) -> float:
    return 2 * f1 * iou / (f1 + iou) if f1 + iou else 0.0


@pytest.fixture
def edits() -> pd.DataFrame:
    return pd.DataFrame(GT_ROWS, columns=[*HACKATHON_GT_COLUMNS, "edits", "evidence"])


@pytest.fixture
def gt() -> list[Segment]:
    """GT_ROWS as segments (ids without .mp4, to be matched with the edits table's ids)."""
    return pairs(("q1", 0, 10, "r1", 0, 10), ("q1", 20, 30, "r2", 5, 15), ("q2", 0, 10, "r1", 30, 40),
                 ("q2", 20, 40, "r3", 0, 20))


def test_edit_names():
    assert edit_names("crop(frac=0.1,x=0.88,y=1.0);blur(sigma=1.39);volume(db=5)") == ("crop", "blur", "volume")
    assert edit_names(" hflip() ; new_audio") == ("hflip", "new_audio")
    assert edit_names("") == () and edit_names(float("nan")) == ()


def test_assignment_takes_the_most_overlapping_row_of_the_same_pair(gt):
    assert assign_predictions(PRED, gt).tolist() == [0, 2, 3, 3, UNASSIGNED, UNASSIGNED, UNASSIGNED]
    two_rows = pairs(("q", 0, 10, "r", 0, 10), ("q", 10, 30, "r", 50, 70))
    # [5, 25] overlaps row 0 by 5/25 and row 1 by 15/25 on the query axis: row 1, whatever the ref axis says.
    assert assign_predictions(pairs(("q", 5, 25, "r", 0, 10, 1.0)), two_rows).tolist() == [1]
    # Same query interval, other reference: no row of that pair.
    assert assign_predictions(pairs(("q", 0, 10, "x", 0, 10, 1.0)), two_rows).tolist() == [UNASSIGNED]


def test_breakdown_per_group_by_hand(gt, edits):
    table = breakdown(PRED, gt, edits).set_index(["group_type", "group"])
    assert list(table.index) == [
        ("all", "all"), ("difficulty", "standard"), ("difficulty", "hard"),
        ("evidence", "audio"), ("evidence", "visual"), ("evidence", "both"),
        ("edit", "blur"), ("edit", "crop"), ("edit", "speed"), ("edit", "volume"),
    ]
    row = table.to_dict(orient="index")

    # all: rows 0-3 with their 4 assigned predictions (the 3 unassigned ones count nowhere).
    # Pairs: q1/r1 1 pred 1 true, q1/r2 0/1 (FN), q2/r1 1/1, q2/r3 2/1 (one surplus FP):
    # TP=3, FP=1, FN=1 -> F1=3/4. Row IoUs 1, 0, 1/3*1/2, 1/2*1/2 -> IoU=(17/12)/(4+1)=17/60.
    assert row[("all", "all")]["n_gt"] == 4 and row[("all", "all")]["n_pred"] == 4
    assert row[("all", "all")]["f1"] == pytest.approx(3 / 4)
    assert row[("all", "all")]["iou"] == pytest.approx(17 / 60)
    assert row[("all", "all")]["final"] == pytest.approx(final(3 / 4, 17 / 60))
    assert row[("all", "all")]["recall"] == pytest.approx(3 / 4)

    # The missed speed segment: nothing assigned -> 0 everywhere, and it is the only hard/visual row.
    for key in [("edit", "speed"), ("difficulty", "hard"), ("evidence", "visual")]:
        assert (row[key]["n_gt"], row[key]["n_pred"]) == (1, 0)
        assert (row[key]["final"], row[key]["f1"], row[key]["iou"], row[key]["segment_ap"], row[key]["recall"]) \
            == (0.0, 0.0, 0.0, 0.0, 0.0)

    # volume: only row 0, found exactly -> 1 everywhere.
    assert [row[("edit", "volume")][k] for k in ("final", "f1", "iou", "segment_ap", "recall")] == \
        pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0])

    # audio: only row 2, IoU 1/6 with F1 1 -> final 2/7. AP: query hit 5 / covered 10 / gt 10,
    # ref hit 5 / covered 5 / gt 10 -> P=sqrt(1/2), R=1/2.
    audio = row[("evidence", "audio")]
    assert (audio["f1"], audio["iou"], audio["final"]) == pytest.approx((1.0, 1 / 6, 2 / 7))
    assert audio["segment_ap"] == pytest.approx(math.sqrt(0.5) / 2)

    # crop: rows 0 and 2. F1=1, IoU=(1+1/6)/2=7/12 -> final 14/19. AP: at 0.9, P=1, R=10/20;
    # at 0.8, query hit 15 / covered 20, ref hit 15 / covered 15 -> P=sqrt(3/4), R=15/20.
    crop = row[("edit", "crop")]
    assert (crop["n_gt"], crop["n_pred"], crop["recall"]) == (2, 2, 1.0)
    assert (crop["iou"], crop["final"]) == pytest.approx((7 / 12, 14 / 19))
    assert crop["segment_ap"] == pytest.approx(0.5 + math.sqrt(0.75) * 0.25)

    # blur: one row found in two halves: TP=1, FP=1 -> F1=2/3; IoU=(1/2*1/2)/(1+1)=1/8 -> final 4/19;
    # the halves cover it exactly, so segment AP is 1: the hackathon metric punishes fragmentation, AP does not.
    blur = row[("edit", "blur")]
    assert (blur["n_pred"], blur["recall"]) == (2, 1.0)
    assert (blur["f1"], blur["iou"], blur["final"], blur["segment_ap"]) == pytest.approx((2 / 3, 1 / 8, 4 / 19, 1.0))

    # standard = rows 0, 2, 3 (everything but the speed row): nothing missed.
    assert (row[("difficulty", "standard")]["n_gt"], row[("difficulty", "standard")]["recall"]) == (3, 1.0)


def test_breakdown_without_edits_and_with_unedited_rows(gt):
    only_all = breakdown(PRED, gt)
    assert only_all[["group_type", "group", "n_gt"]].values.tolist() == [["all", "all", 4]]
    plain = pd.DataFrame({"ID_piracy": ["a"], "segment": ["0-5"], "ID_license": ["b"], "segment.1": ["0-5"],
                          "edits": [""], "evidence": ["both"]})
    table = breakdown(pairs(("a", 0, 5, "b", 0, 5, 1.0)), pairs(("a", 0, 5, "b", 0, 5)), plain)
    assert ("edit", "none") in set(zip(table["group_type"], table["group"], strict=True))
    assert table.set_index("group").loc["standard", "final"] == pytest.approx(1.0)


def test_annotate_ground_truth(gt, edits):
    notes = annotate_ground_truth(gt, edits.iloc[::-1])  # matched on the pairs, not on row order
    assert notes["edits"].tolist() == [("crop", "volume"), ("speed",), ("crop",), ("blur",)]
    assert notes["evidence"].tolist() == ["both", "visual", "audio", "both"]
    assert notes["hard"].tolist() == [False, True, False, False]


def test_ground_truth_row_without_edits_row_is_an_error(gt, edits):
    with pytest.raises(ValueError, match="1 ground-truth rows have no row in the edits table"):
        breakdown(PRED, gt, edits.iloc[:3])


def test_false_positives_are_counted_once(gt):
    counts = false_positive_counts(PRED, gt, META)
    # 3 unassigned: q1@40-50 (a pirated query) and two on q3; q4 is negative and clean.
    assert counts == {"fp_unassigned": 3, "negative_queries": 2, "fp_negative_queries": 2,
                      "negative_queries_flagged": 1}
    assert false_positive_counts(PRED, gt) == {"fp_unassigned": 3}


def test_false_positives_on_negative_queries_with_shared_content(gt):
    """A benchmark's queries_meta.csv read as text: ``shared`` names the catalog's shared content (or is empty)."""
    meta = META.assign(shared=["", "intro", "intro+logo", ""])  # q2 is pirated: not a negative query
    counts = false_positive_counts(PRED, gt, meta)
    assert counts["fp_negative_queries"] == 2
    assert (counts["shared_negative_queries"], counts["fp_shared_negative_queries"]) == (1, 2)
    clean = false_positive_counts(PRED, gt, META.assign(shared=["", "", float("nan"), "logo"]))
    assert (clean["shared_negative_queries"], clean["fp_shared_negative_queries"]) == (1, 0)


def test_write_report_files_and_json_round_trip(tmp_path, gt, edits):
    report = write_report(PRED, gt, tmp_path / "rep", edits_df=edits, queries_meta=META, label="sys")
    # Overall metrics keep the keys of evaluate() at top level, and include the unassigned predictions:
    # 7 predictions vs 4 GT rows -> q1/r1 gets a surplus FP and q3/* are unknown pairs (2 FP).
    for key in ("final", "f1", "iou", "segment_ap", "n_queries", "n_pairs"):
        assert key in report
    assert (report["label"], report["tp"], report["fp"], report["fn"]) == ("sys", 3, 4, 1)
    assert report["fp_negative_queries"] == 2

    assert json.loads((tmp_path / "rep" / "metrics.json").read_text()) == report
    per_edit = pd.read_csv(tmp_path / "rep" / "per_edit.csv")
    pd.testing.assert_frame_equal(per_edit, pd.DataFrame(report["breakdown"]), check_dtype=False)
    assert per_edit.set_index("group").loc["speed", "recall"] == 0.0

    for name in ("pr_curve.png", "score_hist.png"):
        data = (tmp_path / "rep" / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
        assert struct.unpack(">II", data[16:24]) == (800, 500)  # IHDR width, height


def test_write_report_without_predictions(tmp_path, gt):
    report = write_report(pairs(), gt, tmp_path)
    assert report["final"] == 0.0 and report["breakdown"][0]["recall"] == 0.0
    assert (tmp_path / "pr_curve.png").read_bytes()[:8] == PNG_SIGNATURE


def test_format_breakdown(gt, edits):
    lines = format_breakdown(breakdown(PRED, gt, edits)).splitlines()
    assert lines[0].split() == ["group_type", "group", "n_gt", "n_pred", "final", "f1", "iou", "segment_ap", "recall"]
    assert lines[2].split() == ["all", "all", "4", "4", f"{final(3 / 4, 17 / 60):.3f}", "0.750", "0.283",
                                lines[2].split()[7], "0.750"]
    assert any(line.split()[:2] == ["edit", "speed"] and line.split()[4] == "0.000" for line in lines)


def test_evaluate_job_finds_edits_and_meta_beside_ground_truth(tmp_path, edits):
    bench = tmp_path / "bench"
    bench.mkdir()
    edits[list(HACKATHON_GT_COLUMNS)].to_csv(bench / "ground_truth.csv", index=False)
    edits.to_csv(bench / "edits.csv", index=False)
    META.to_csv(bench / "queries_meta.csv", index=False)
    Segment.to_table(PRED, "test").to_pandas().to_csv(tmp_path / "pred.csv", index=False)
    out = tmp_path / "eval" / "metrics.json"
    run = subprocess.run([AVM, "evaluate", f"predictions={tmp_path / 'pred.csv'}",
                          f"ground_truth={bench / 'ground_truth.csv'}", f"output={out}",
                          f"paths.output_dir={tmp_path}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert {p.name for p in out.parent.iterdir()} == {"metrics.json", "per_edit.csv", "pr_curve.png", "score_hist.png"}
    metrics = json.loads(out.read_text())
    assert metrics["fp_negative_queries"] == 2
    assert {row["group"] for row in metrics["breakdown"]} >= {"crop", "speed", "hard", "audio"}
    assert "segment_ap" in run.stdout and any(line.split()[:2] == ["edit", "blur"] for line in run.stdout.splitlines())


def test_restrict_to_evidence_scores_one_modality_on_the_copies_it_can_see(gt, edits):
    pred = [*PRED, *pairs(("q1", 20, 30, "r2", 5, 15, 0.9))]
    scoped_pred, scoped_gt = restrict_to_evidence(pred, gt, edits, ["audio", "both"])
    # GT row 1 (q1↔r2) has visual evidence only: it leaves the ground truth, and so does the prediction on its pair
    assert len(scoped_gt) == 3 and not any((s.query_id, s.ref_id) == ("q1", "r2") for s in scoped_gt)
    assert not any((s.query_id, s.ref_id) == ("q1", "r2") for s in scoped_pred)
    # predictions on pairs without any copy (negative query q3) stay: they are still false positives
    assert sum(s.query_id == "q3" for s in scoped_pred) == 2 and len(scoped_pred) == len(PRED)
    assert scoped_gt == [gt[0], gt[2], gt[3]] and all(s in pred for s in scoped_pred)  # the segments given
    visual_pred, visual_gt = restrict_to_evidence(pred, gt, edits, ["visual"])
    assert len(visual_gt) == 1 and {s.ref_id for s in visual_pred if s.query_id == "q2"} == set()

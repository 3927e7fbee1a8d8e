"""The `avm` console script dispatches to the Hydra jobs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")


def test_usage_lists_the_jobs():
    out = subprocess.run([AVM, "--help"], capture_output=True, text=True, check=True).stdout
    for job in ("ingest", "scan", "match", "evaluate", "demo"):
        assert f"  {job}" in out
    bad = subprocess.run([AVM, "nosuchjob"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown job" in bad.stderr


def test_evaluate_job_writes_json(tmp_path):
    gt = tmp_path / "gt.csv"
    gt.write_text("ID_piracy,segment,ID_license,segment.1\nq1.mp4,10-20,r1.mp4,30-40\nq2.mp4,0-8,r2.mp4,2-10\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("ID-piracy,SEG-piracy,ID-license,SEG-license\nq1,10-20,r1,30-40\nq2,0-8,r3,2-10\n")
    out = tmp_path / "metrics.json"
    # from another working directory: the config tree is found beside the installed package
    run = subprocess.run([AVM, "evaluate", f"predictions={pred}", f"ground_truth={gt}", f"output={out}",
                          f"paths.output_dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    metrics = json.loads(out.read_text())
    # q1 exact (TP, IoU 1); q2→r3 is an unknown pair (FP) and q2→r2 is missed (FN)
    assert (metrics["tp"], metrics["fp"], metrics["fn"]) == (1, 1, 1)
    assert abs(metrics["iou"] - 1 / 3) < 1e-9 and abs(metrics["f1"] - 0.5) < 1e-9
    assert "final" in run.stdout


def test_job_help_shows_the_jobs_own_options(tmp_path):
    out = subprocess.run([AVM, "scan", "--help"], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "== scan options ==" in out
    for group in ("media:", "model:", "index:", "ray:", "match:", "search:", "false_positives_per_hour"):
        assert group in out, group
    for foreign in ("bench", "train", "ground_truth", "experiment"):  # other jobs' groups and keys
        assert foreign not in out, foreign


def test_an_unknown_option_is_an_error(tmp_path):
    bad = subprocess.run([AVM, "scan", "match.align.min_simlarity=0.3"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert bad.returncode != 0 and "min_simlarity" in bad.stderr

"""Crash safety, measured: ``kill -9`` an ingest and a reindex at random moments, run each again, and compare the
store with one clean run (status per video, fingerprint rows per video and modality, the vectors themselves, and
no leftover rows).

    python benchmarks/kill_test.py --input outputs/demo/media --runs 10 --out outputs/bench/kill

Half the kills come at a moment drawn uniformly over the clean run's wall time, half the moment the store reaches
a table-version count drawn uniformly over those the clean run wrote (seeded), so they land in Ray start-up,
decoding, between the commits of one batch and in the final index/optimize step alike. Each run uses its own
store under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from avm.index import FingerprintStore, IndexOptions, leftover_rows
from avm.types import vector_matrix

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")
OTHER_AUDIO_MODEL = "avm/models/checkpoints/audio_v1.pt"


def commits(uri: Path) -> int:
    """Table versions written so far in the store (sum over its tables; 0 before it exists)."""
    store = FingerprintStore(IndexOptions(uri=str(uri)))
    try:
        return sum(store.table(name).version for name in store.table_names())
    except Exception:  # a table being created
        return 0


def run_job(args: list[str], store: Path, kill_after: float | None = None,
            kill_at_commit: int | None = None) -> tuple[float, int]:
    """Run ``avm <args>`` on ``store``; SIGKILL its whole process group after ``kill_after`` s, or as soon as the
    store holds ``kill_at_commit`` table versions. Returns (seconds, return code)."""
    command = [AVM, *args, f"index.uri={store}", f"paths.output_dir={store.parent / 'runs'}", "ray.num_cpus=2"]
    started = time.monotonic()
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    while kill_at_commit is not None and job.poll() is None and commits(store) < kill_at_commit:
        time.sleep(0.02)
    try:
        job.wait(timeout=0 if kill_at_commit is not None else kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    if job.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"avm {' '.join(args)} failed: {job.stderr.read().decode()[-2000:]}")
    return time.monotonic() - started, job.returncode


def store_state(uri: Path) -> dict[str, object]:
    """Everything a clean run decides: status per video, active versions, and per (modality, video) the current
    intervals' times and a digest of their vectors; plus the leftover rows (which must be none)."""
    store = FingerprintStore(IndexOptions(uri=str(uri)))
    if not store.exists() or not store.has_table("videos"):
        return {"videos": {}}
    videos = {r["video_id"]: r["status"] for r in store.videos(["video_id", "status"]).to_pylist()}
    snapshot = store.snapshot()
    prints = {}
    for modality in snapshot.versions:
        for video_id in sorted(snapshot.batches.get(modality, {})):
            rows = store.intervals_of(modality, video_id)
            vectors = vector_matrix(rows["vector"]) if rows.num_rows else np.zeros((0, 1), np.float32)
            prints[f"{modality}/{video_id}"] = (rows["t_start"].to_pylist(), round(float(vectors.sum()), 3),
                                                rows.num_rows)
    return {"videos": videos, "versions": snapshot.versions, "prints": prints, "leftovers": leftover_rows(store)}


def trial(name: str, job: list[str], base: Path | None, out: Path, clean: dict, kill_after: float | None,
          kill_at_commit: int | None) -> dict:
    """One kill: copy ``base`` (or start empty), run ``job`` killed after ``kill_after`` s or at the table
    version count ``kill_at_commit``, run it again, compare with the clean run."""
    store = out / name / "db"
    shutil.rmtree(store.parent, ignore_errors=True)
    store.parent.mkdir(parents=True)
    if base is not None:
        shutil.copytree(base, store)
    killed_at, rc = run_job(job, store, kill_after, kill_at_commit)
    at_kill = store_state(store)
    seconds, _ = run_job(job, store)
    after = store_state(store)
    same = {k: after.get(k) == clean.get(k) for k in ("videos", "versions", "prints")}
    return {"trial": name, "kill_at": f"{kill_after:.1f} s" if kill_after else f"table version {kill_at_commit}",
            "killed_after_s": round(killed_at, 2), "killed": rc == -signal.SIGKILL,
            "videos_at_kill": len(at_kill["videos"]), "leftover_rows_at_kill": at_kill.get("leftovers", {}),
            "rerun_s": round(seconds, 1), "rows_checked": sum(p[2] for p in after.get("prints", {}).values()),
            "identical": all(same.values()), "differs": [k for k, v in same.items() if not v],
            "leftover_rows_after": after.get("leftovers", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="media to ingest (a directory, manifest or glob)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default="outputs/bench/kill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-rows", type=int, default=2000, help="fingerprint rows per commit (many commits)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    rng = random.Random(args.seed)
    ingest = ["ingest", f"input={args.input}", f"write_batch_rows={args.batch_rows}"]
    reindex = ["reindex", f"model.audio.checkpoint={OTHER_AUDIO_MODEL}", "model.audio.projection=null", f"write_batch_rows={args.batch_rows}"]
    clean_ingest = out / "clean_ingest" / "db"
    clean_reindex = out / "clean_reindex" / "db"
    for folder in (clean_ingest.parent, clean_reindex.parent):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    ingest_seconds, _ = run_job(ingest, clean_ingest)
    ingest_commits = commits(clean_ingest)
    shutil.copytree(clean_ingest, clean_reindex)
    reindex_seconds, _ = run_job(reindex, clean_reindex)
    reindex_commits = commits(clean_reindex)
    references = {"ingest": store_state(clean_ingest), "reindex": store_state(clean_reindex)}
    print(f"clean ingest {ingest_seconds:.1f} s ({len(references['ingest']['videos'])} videos, "
          f"{sum(p[2] for p in references['ingest']['prints'].values())} rows); clean reindex {reindex_seconds:.1f} s")
    results = []
    plans = (("ingest", ingest, None, ingest_seconds, 0, ingest_commits),
             ("reindex", reindex, clean_ingest, reindex_seconds, commits(clean_ingest), reindex_commits))
    for kind, job, base, seconds, first_commit, last_commit in plans:
        for i in range(args.runs):
            at_time = rng.uniform(0.5, seconds * 0.97) if i % 2 == 0 else None
            at_commit = None if at_time else rng.randint(first_commit + 1, last_commit)
            result = trial(f"{kind}_{i}", job, base, out, references[kind], at_time, at_commit)
            results.append({"job": kind, **result})
            print(json.dumps(results[-1]))
    summary = {kind: {"runs": sum(r["job"] == kind for r in results),
                      "killed": sum(r["job"] == kind and r["killed"] for r in results),
                      "identical": sum(r["job"] == kind and r["identical"] for r in results),
                      "rows_checked": sum(r["rows_checked"] for r in results if r["job"] == kind),
                      "leftover_rows_after": sum(bool(r["leftover_rows_after"]) for r in results if r["job"] == kind)}
               for kind in ("ingest", "reindex")}
    (out / "kill_test.json").write_text(json.dumps({"summary": summary, "runs": results,
                                                     "clean_seconds": {"ingest": ingest_seconds,
                                                                       "reindex": reindex_seconds}}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

"""Run the peers (Chromaprint, PDQ) on a built benchmark and score them with AVM's evaluator.

    python benchmarks/peers/run_peers.py --bench DIR --out OUTDIR [--peers chromaprint pdq] [--workers N]

DIR holds ``refs.csv`` and ``queries.csv`` (``uri,video_id``), ``ground_truth.csv`` and, when the builder wrote
them, ``edits.csv`` and ``queries_meta.csv``. Each peer writes ``OUTDIR/<peer>/matches.parquet``
(MATCHES_SCHEMA, readable by ``avm evaluate predictions=...``) and ``run.json`` (timings), then its report
(``avm.evaluate.write_report``: metrics.json, per_edit.csv, plots) beside them. A peer whose tool is
not installed (benchmarks/peers/install.sh) is skipped with a message. Throughput is media time (references
and queries) over wall time (decode, fingerprint and match), on ``--workers`` threads.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from avm.evaluate import read_ground_truth_csv, read_predictions, write_report
from avm.manifest import read_manifest_file
from avm.types import Segment

from peer_common import Peer, run  # benchmarks/peers, on sys.path as the script's folder


def _chromaprint() -> Peer:
    from chromaprint_peer import ChromaprintPeer

    return ChromaprintPeer()


def _pdq() -> Peer:
    from pdq_peer import PdqPeer

    return PdqPeer()


# name → (what it needs, whether that is installed, the peer)
PEERS: dict[str, tuple[str, Callable[[], bool], Callable[[], Peer]]] = {
    "chromaprint": ("fpcalc (apt libchromaprint-tools)", lambda: shutil.which("fpcalc") is not None, _chromaprint),
    "pdq": ("pdqhash (pip install '.[peers]')", lambda: importlib.util.find_spec("pdqhash") is not None, _pdq),
}


def run_peer(name: str, bench: Path, out: Path,
             workers: int = os.cpu_count() or 1) -> tuple[list[Segment], float] | None:
    """Run one peer on ``bench``, write ``out/matches.parquet`` and ``out/run.json``; return the predictions (as
    ``read_predictions`` reads them) and the wall seconds, or None when the peer's tool is not installed."""
    needs, installed, make = PEERS[name]
    if not installed():
        print(f"{name}: skipped, {needs} is not installed (benchmarks/peers/install.sh)")
        return None
    peer = make()
    result = run(peer, read_manifest_file(str(bench / "refs.csv")), read_manifest_file(str(bench / "queries.csv")),
                 workers=workers, run_id=f"peer-{name}")
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(result.matches, out / "matches.parquet")
    wall = result.fingerprint_seconds + result.match_seconds
    (out / "run.json").write_text(json.dumps({
        "peer": name, "modality": peer.modality, "options": repr(peer), "bench": str(bench), "workers": workers,
        "media_seconds": result.media_seconds, "fingerprint_seconds": result.fingerprint_seconds,
        "match_seconds": result.match_seconds, "realtime": result.realtime, "n_matches": result.matches.num_rows,
        "skipped_no_modality": result.skipped}, indent=2) + "\n")
    return read_predictions(out / "matches.parquet"), wall


def score(name: str, pred: list[Segment], bench: Path, out: Path) -> dict:
    """Metrics of one peer's predictions, with its per-edit report written to ``out``."""
    gt = read_ground_truth_csv(bench / "ground_truth.csv")
    edits, meta = (pd.read_csv(bench / name, dtype=str, keep_default_na=False) if (bench / name).exists() else None
                   for name in ("edits.csv", "queries_meta.csv"))
    return write_report(pred, gt, out, edits_df=edits, queries_meta=meta, label=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--peers", nargs="+", choices=sorted(PEERS), default=list(PEERS))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="files fingerprinted at once")
    args = parser.parse_args()
    rows = []
    for name in args.peers:
        ran = run_peer(name, args.bench, args.out / name, args.workers)
        if ran is None:
            continue
        metrics = score(name, ran[0], args.bench, args.out / name)
        timing = json.loads((args.out / name / "run.json").read_text())
        rows.append({"peer": name, "modality": timing["modality"],
                     **{k: metrics[k] for k in ("final", "f1", "precision", "recall", "iou", "segment_ap",
                                                "tp", "fp", "fn")},
                     "media_h": timing["media_seconds"] / 3600, "wall_s": ran[1], "x_realtime": timing["realtime"]})
    if rows:
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

"""AVM and the peers on one built benchmark, in one run, scored by the same evaluator, side by side per edit.

    python benchmarks/compare.py --bench outputs/bench/standard [--out outputs/bench/standard/compare]
        [--peers chromaprint pdq] [--variants fused audio visual] [--avm-override KEY=VALUE ...]
        [--baseline NAME="KEY=VALUE ..."] [--scan-variant NAME="KEY=VALUE ..."]

Runs AVM (fresh LanceDB under OUT/avm: ingest the catalog once, then scan the queries with both modalities
fused (``avm``), audio alone (``avm_audio``) and video alone (``avm_visual``)), then each installed peer
(benchmarks/peers/run_peers.py), writes every system's report (metrics.json, per_edit.csv, plots) under
OUT/<system>/ and prints a Markdown table of the final metric and recall per edit, per evidence and per
difficulty, with each system's throughput.

A single-modality system is scored on the copies its modality can see (``SCOPES``): audio-only systems
on copies whose audio was kept (evidence ``audio`` or ``both``), video-only ones on copies whose picture
was kept (``visual`` or ``both``); the fused system on every copy.

``--baseline`` adds an AVM system with its own overrides on its own LanceDB (OUT/NAME), for a previous model
side by side in the same run, e.g. ``--baseline avm_audio_v1="model.modalities=[audio]
model.audio.checkpoint=avm/models/checkpoints/audio_v1.pt model.audio.projection=null"``; its scope follows ``model.modalities``.
``--scan-variant`` adds a fused AVM system that scans the same catalog (OUT/avm) with other scan settings, e.g.
``--scan-variant avm_whole_catalog="search.shortlist=0"``. Every AVM system's scan seconds are printed beside its
wall seconds (ingest included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.evaluate import read_ground_truth_csv, read_predictions, write_report
from avm.manifest import read_inputs
from avm.pipeline import ScanConfig
from avm.pipeline.config import ingest_settings
from avm.pipeline.runner import ingest, scan
from avm.types import Segment
from jobs.schemas import register_configs

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))


AUDIO_SCOPE, VISUAL_SCOPE = ("audio", "both"), ("visual", "both")
SCOPES = {"avm_audio": AUDIO_SCOPE, "avm_visual": VISUAL_SCOPE, "chromaprint": AUDIO_SCOPE, "pdq": VISUAL_SCOPE}
VARIANTS = {"fused": ("avm", "[audio,visual]"), "audio": ("avm_audio", "[audio]"), "visual": ("avm_visual", "[visual]")}


def _avm_config(out: Path, overrides: list[str], scan_dir: Path | None = None) -> ScanConfig:
    """The scan job's config writing under ``out`` (its results in ``scan_dir``, by default ``out/scan``)."""
    register_configs()
    results = [f"output_dir={scan_dir}"] if scan_dir is not None else []
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="scan", overrides=[f"paths.output_dir={out}", *results, *overrides])
    return to_options(cfg, ScanConfig)


def run_avm(bench: Path, out: Path, overrides: list[str], variants: list[str],
            scan_variants: dict[str, list[str]]) -> dict[str, tuple[list[Segment], float, float]]:
    """Ingest the benchmark's catalog once, then scan its queries with each AVM variant (``VARIANTS``) and each
    of the ``scan_variants`` (name → extra overrides of the fused scan).

    Returns, per system name, its predictions, wall seconds (the ingest counted in every variant's time) and
    scan seconds.
    """
    started = time.perf_counter()
    ingest(ingest_settings(_avm_config(out / "avm", overrides)), read_inputs(str(bench / "refs.csv")))
    ingest_seconds = time.perf_counter() - started
    systems = {VARIANTS[v][0]: [f"model.modalities={VARIANTS[v][1]}"] for v in variants}
    results = {}
    for system, extra in {**systems, **scan_variants}.items():
        cfg = _avm_config(out / "avm", [*overrides, *extra], out / system / "scan")
        started = time.perf_counter()
        scan(cfg, read_inputs(str(bench / "queries.csv")))
        scan_seconds = time.perf_counter() - started
        results[system] = (read_predictions(str(out / system / "scan" / "matches")), ingest_seconds + scan_seconds,
                           scan_seconds)
    return results


def _modalities_scope(overrides: list[str]) -> tuple[str, ...]:
    """The copies a system configured by ``overrides`` can see: audio or visual alone, else every copy."""
    return {"model.modalities=[audio]": AUDIO_SCOPE, "model.modalities=[visual]": VISUAL_SCOPE}.get(
        next((o.replace(" ", "") for o in overrides if o.startswith("model.modalities=")), ""), ())


def run_baseline(bench: Path, out: Path, overrides: list[str]) -> tuple[list[Segment], float]:
    """Ingest the catalog into ``out``'s own LanceDB and scan the queries with ``overrides``."""
    started = time.perf_counter()
    cfg = _avm_config(out, overrides)
    ingest(ingest_settings(cfg), read_inputs(str(bench / "refs.csv")))
    scan(cfg, read_inputs(str(bench / "queries.csv")))
    return read_predictions(str(out / "scan" / "matches")), time.perf_counter() - started


def side_by_side(reports: dict[str, pd.DataFrame]) -> str:
    """Markdown: one row per group, final metric and recall of every system."""
    merged = None
    for system, table in reports.items():
        part = table.set_index(["group_type", "group"])[["n_gt", "final", "recall"]].rename(
            columns={"final": f"{system} final", "recall": f"{system} recall"})
        merged = part if merged is None else merged.join(part.drop(columns="n_gt"), how="outer")
    merged = merged.reset_index()
    header = "| " + " | ".join(merged.columns) + " |\n|" + "---|" * len(merged.columns) + "\n"
    body = "".join("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |\n"
                   for row in merged.itertuples(index=False))
    return header + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--peers", nargs="*", default=["chromaprint", "pdq"])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--avm-override", nargs="*", default=[], help="Hydra overrides for AVM's scan config")
    parser.add_argument("--baseline", action="append", default=[], metavar='NAME="KEY=VALUE ..."',
                        help="another AVM system (e.g. a previous model) with these overrides, on its own LanceDB")
    parser.add_argument("--scan-variant", action="append", default=[], metavar='NAME="KEY=VALUE ..."',
                        help="another fused AVM scan of the same catalog with these overrides")
    args = parser.parse_args()
    out = args.out or args.bench / "compare"
    gt = read_ground_truth_csv(str(args.bench / "ground_truth.csv"))
    edits = pd.read_csv(args.bench / "edits.csv", dtype=str, keep_default_na=False)
    meta_path = args.bench / "queries_meta.csv"
    meta = pd.read_csv(meta_path, dtype=str, keep_default_na=False) if meta_path.exists() else None
    media_hours = json.loads((args.bench / "build.json").read_text()).get("counts", {}).get("query_hours")
    predictions, seconds, scan_seconds = {}, {}, {}
    scopes = dict(SCOPES)
    scan_variants = {name: text.split() for name, _, text in (v.partition("=") for v in args.scan_variant)}
    for system, (pred, wall, scanned) in run_avm(args.bench, out, args.avm_override, args.variants,
                                                 scan_variants).items():
        predictions[system], seconds[system], scan_seconds[system] = pred, wall, scanned
    for baseline in args.baseline:
        name, _, text = baseline.partition("=")
        overrides = [*args.avm_override, *text.split()]
        scopes[name] = _modalities_scope(overrides)
        predictions[name], seconds[name] = run_baseline(args.bench, out / name, overrides)
    if args.peers:
        import run_peers  # benchmarks/peers/run_peers.py

        for peer in args.peers:
            result = run_peers.run_peer(peer, args.bench, out / peer)
            if result is not None:
                predictions[peer], seconds[peer] = result
    reports = {}
    for system, pred in predictions.items():
        summary = write_report(pred, gt, out / system, edits_df=edits, queries_meta=meta, label=system,
                               evidence=scopes.get(system, ()))
        reports[system] = pd.read_csv(out / system / "per_edit.csv")
        scope = "+".join(scopes.get(system) or ("all",))
        print(f"{system} (copies: {scope}): final {summary['final']:.3f}, segment AP {summary['segment_ap']:.3f}, "
              f"recall {summary.get('recall', float('nan')):.3f}, precision {summary.get('precision', float('nan')):.3f}, "
              f"FP on negative queries {summary.get('fp_negative_queries', 'n/a')} "
              f"(of which on those carrying shared content {summary.get('fp_shared_negative_queries', 'n/a')}), "
              f"{seconds[system]:.0f} s" + (f" ({media_hours * 3600 / seconds[system]:.0f}× realtime on the queries)"
                                            if media_hours else "")
              + (f"; scan {scan_seconds[system]:.0f} s" if system in scan_seconds else ""))
    table = side_by_side(reports)
    (out / "side_by_side.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

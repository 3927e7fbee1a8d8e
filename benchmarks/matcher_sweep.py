"""Tune the matcher without re-running search: cache every query's k-NN hits once, then score match settings.

    # 1. fingerprint the queries and cache their k-NN hits against an ingested catalog (minutes)
    python benchmarks/matcher_sweep.py hits --bench outputs/bench/standard \
        --db outputs/bench/standard/compare/avm/lancedb --out outputs/bench/standard/hits
    # 2. score match settings on the cached hits (seconds per setting); each --set is one grid axis
    python benchmarks/matcher_sweep.py sweep --bench outputs/bench/standard --hits outputs/bench/standard/hits \
        --set match.align.max_gap=4,8 --set match.audio.align.min_hits=3,5 [--modalities audio] [--evidence audio both]

The sweep prints one line per setting: hackathon final / F1 / IoU / precision / recall, segment AP and the
pairs reported on negative queries. ``--evidence`` keeps the ground-truth rows with that evidence and drops
predictions on pairs that only have other evidence (e.g. audio-only matching scored on copies whose audio
was kept). ``--groups noise hard`` also prints those rows of the per-edit/difficulty breakdown. Hydra overrides
of the ``scan`` config (``--override``) choose the model and search settings for ``hits``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.evaluate import breakdown, evaluate, read_ground_truth_csv, restrict_to_evidence
from avm.index import FingerprintStore, IndexOptions, impostor_similarities
from avm.manifest import read_inputs
from avm.match import MatchOptions, SharedContent, calibrate, match_segments, reference_lookup
from avm.match.calibration import null_segment_scores, with_decision_thresholds
from avm.match.cascade import first_stage_hits, sparse_options, stride_of
from avm.match.shared import shared_content
from avm.pipeline import ScanConfig, fingerprint_file, fingerprinting_stages
from avm.types import Fingerprints, Hits, Segment
from jobs.schemas import register_configs

log = logging.getLogger("matcher_sweep")


def _scan_config(overrides: list[str]) -> ScanConfig:
    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return to_options(compose(config_name="scan", overrides=overrides), ScanConfig)


def cache_hits(bench: Path, db: Path, out: Path, overrides: list[str]) -> None:
    """Fingerprint every query of ``bench`` and write its fingerprints and k-NN hits per modality under ``out``."""
    job = _scan_config([f"index.uri={db}", *overrides])
    store = FingerprintStore(job.index)
    modalities = job.model.modalities
    printing = fingerprinting_stages(job.media, job.model, job.model.query_steps())
    match = job.match.per_modality(modalities)
    # as a scan: content shared by catalog videos is found first, left out of the impostors and of the hits
    shared = shared_content(store, {m: match[m].calibration for m in modalities}, job.search.k,
                            reference_lookup(store))
    impostors = {m: impostor_similarities(store, m, match[m].calibration.samples,
                                          ignore=functools.partial(shared.covers, m),
                                          recurring=match[m].calibration.recurring) for m in modalities}
    hits: dict[str, list[pa.Table]] = {m: [] for m in modalities}
    prints: dict[str, list[pa.Table]] = {m: [] for m in modalities}
    queries = read_inputs(str(bench / "queries.csv"))
    for n, entry in enumerate(queries, 1):
        query = fingerprint_file(printing, entry.uri, entry.video_id)
        for m in modalities:
            prints[m].append(query[m].to_rows(entry.video_id))
            first, _ = first_stage_hits(store, m, query[m], job.search)  # as the scan's first stage
            found = shared.drop_hits(m, first, match[m].calibration.shared_min_videos).to_table()
            hits[m].append(found.append_column("query_id", pa.array([entry.video_id] * found.num_rows)))
        log.info("query %d/%d %s", n, len(queries), entry.video_id)
    out.mkdir(parents=True, exist_ok=True)
    for m in modalities:
        pq.write_table(pa.concat_tables(hits[m]), out / f"hits_{m}.parquet")
        pq.write_table(pa.concat_tables(prints[m]), out / f"prints_{m}.parquet")
    np.savez(out / "impostors.npz", **impostors)
    (out / "shared.json").write_text(json.dumps(dataclasses.asdict(shared)))
    (out / "meta.json").write_text(json.dumps({"db": str(db.resolve()), "overrides": overrides}))


def _grid(settings: list[str]) -> list[dict[str, float]]:
    """``["match.align.max_gap=4,8", "match.audio.align.min_hits=3"]`` → every combination as ``{key: value}``;
    a key is ``step.field`` of :class:`MatchOptions` (every modality) or ``modality.step.field`` (one)."""
    axes = []
    for setting in settings:
        key, values = setting.split("=", 1)
        axes.append([(key.removeprefix("match."), json.loads(v)) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] or [{}]


def _apply(base: dict[str, MatchOptions], setting: dict[str, float]) -> dict[str, MatchOptions]:
    """``base`` with one grid point applied (``step.field`` to every modality, ``modality.step.field`` to one)."""
    out = dict(base)
    for key, value in setting.items():
        *modality, step, name = key.split(".")
        for m in modality or list(out):
            options = dataclasses.replace(getattr(out[m], step), **{name: value})
            out[m] = dataclasses.replace(out[m], **{step: options})
    return out


def _prints_by_video(modality: str, rows: pa.Table) -> dict[str, Fingerprints]:
    """Fingerprint rows of many videos (each video's rows in time order) by video id, in order of appearance."""
    ids = rows["video_id"].to_numpy(zero_copy_only=False)
    groups = pd.Series(ids).groupby(ids).indices
    return {video_id: Fingerprints.from_rows(modality, rows.take(groups[video_id])) for video_id in dict.fromkeys(ids)}


def _catalog_prints(db: str, modalities: list[str]) -> dict[tuple[str, str], Fingerprints]:
    """Every catalog video's stored fingerprints, keyed by (modality, video id)."""
    store = FingerprintStore(IndexOptions(uri=db))
    out = {}
    for m in modalities:
        rows = store.fingerprints(m).to_arrow().sort_by([("video_id", "ascending"), ("t_start", "ascending")])
        out.update({(m, video_id): prints for video_id, prints in _prints_by_video(m, rows).items()})
    return out


def calibrated(hits_dir: Path, match: dict[str, MatchOptions], modalities: list[str],
               null_hours: float = 0.0) -> dict[str, MatchOptions]:
    """``match`` calibrated as a scan would: thresholds from the cached impostors, and with ``null_hours`` the
    decision threshold from that much reversed catalog matched against the cached catalog (slow)."""
    with np.load(hits_dir / "impostors.npz") as saved:
        opts = calibrate({m: match[m] for m in modalities}, {m: saved[m] for m in modalities})
    if null_hours <= 0:
        return opts
    meta = json.loads((hits_dir / "meta.json").read_text())
    store = FingerprintStore(IndexOptions(uri=meta["db"]))
    search = _scan_config(meta["overrides"]).search
    shared = SharedContent.from_dict(json.loads((hits_dir / "shared.json").read_text()))
    return with_decision_thresholds(opts, *null_segment_scores(store, opts, search, null_hours, shared))


def match_cached(hits_dir: Path, opts: dict[str, MatchOptions],
                 catalog: dict[tuple[str, str], Fingerprints] | None = None) -> list[Segment]:
    """Segments of every cached query under calibrated ``opts`` (one per modality matched); with ``catalog``
    fingerprints, segments are refined along their lines as in a scan. The cached hits are those of the scan's
    first stage (``search.first_stage_step`` of the cached run)."""
    step = _scan_config(json.loads((hits_dir / "meta.json").read_text())["overrides"]).search.first_stage_step
    per_query: dict[str, dict[str, Fingerprints]] = {}
    for m in opts:
        for query_id, prints in _prints_by_video(m, pq.read_table(hits_dir / f"prints_{m}.parquet")).items():
            per_query.setdefault(query_id, {})[m] = prints
    hit_tables = {m: pq.read_table(hits_dir / f"hits_{m}.parquet") for m in opts}
    grouped = {m: t.to_pandas().groupby("query_id").indices for m, t in hit_tables.items()}
    references = None if catalog is None else (lambda m, ref_id: catalog.get((m, ref_id)))
    segments = []
    for query_id, prints in per_query.items():
        hits = {m: Hits.from_table(hit_tables[m].take(grouped[m].get(query_id, np.zeros(0, np.int64))))
                for m in prints}
        aligned = {m: sparse_options(o, stride_of(prints[m].t_start, step)) if m in prints else o
                   for m, o in opts.items()}
        segments += match_segments(query_id, prints, hits, aligned, references)
    return segments


def sweep(bench: Path, hits_dir: Path, settings: list[str], modalities: list[str], evidence: list[str],
          null_hours: float, groups: list[str] | None = None) -> None:
    """Print the metrics of every setting of the grid on the cached hits (refined against the cached catalog)."""
    catalog = _catalog_prints(json.loads((hits_dir / "meta.json").read_text())["db"], modalities)
    gt = read_ground_truth_csv(str(bench / "ground_truth.csv"))
    edits = pd.read_csv(bench / "edits.csv", dtype=str, keep_default_na=False)
    meta = pd.read_csv(bench / "queries_meta.csv", dtype=str, keep_default_na=False)
    negatives = set(meta.loc[meta["kind"] == "negative", "video_id"])
    base = _scan_config([]).match.per_modality(modalities)
    for setting in _grid(settings):
        match = _apply(base, setting)
        opts = calibrated(hits_dir, match, modalities, null_hours)
        pred = match_cached(hits_dir, opts, catalog)
        fp_negative = sum(s.query_id in negatives for s in pred)
        scored_pred, scored_gt = restrict_to_evidence(pred, gt, edits, evidence) if evidence else (pred, gt)
        m = evaluate(scored_pred, scored_gt)
        decision = " ".join(f"{m}≥{o.align.min_score:.3f}" for m, o in opts.items())
        print(f"{json.dumps(setting)} [decision {decision}]: final {m['final']:.3f} f1 {m['f1']:.3f} "
              f"iou {m['iou']:.3f} precision {m['precision']:.3f} recall {m['recall']:.3f} AP {m['segment_ap']:.3f} "
              f"pred {len(scored_pred)} gt {len(scored_gt)} fp_negative {fp_negative}", flush=True)
        if groups:
            table = breakdown(scored_pred, scored_gt, edits).set_index("group")
            print("    " + " ".join(f"{g} {table.at[g, 'final']:.3f} (recall {table.at[g, 'recall']:.2f})"
                                    for g in groups if g in table.index), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    hits = sub.add_parser("hits")
    hits.add_argument("--bench", type=Path, required=True)
    hits.add_argument("--db", type=Path, required=True, help="LanceDB directory of the ingested catalog")
    hits.add_argument("--out", type=Path, required=True)
    hits.add_argument("--override", nargs="*", default=[])
    run = sub.add_parser("sweep")
    run.add_argument("--bench", type=Path, required=True)
    run.add_argument("--hits", type=Path, required=True)
    run.add_argument("--set", action="append", default=[],
                     help="match.[MODALITY.]STEP.FIELD=v1,v2,... (one grid axis)")
    run.add_argument("--modalities", nargs="*", default=["audio", "visual"])
    run.add_argument("--evidence", nargs="*", default=[], help="score only copies with this evidence")
    run.add_argument("--null-hours", type=float, default=0.0,
                     help="calibrate the decision threshold on this much reversed catalog, as a scan does (slow)")
    run.add_argument("--groups", nargs="*", default=[],
                     help="also print these breakdown groups per setting (edits such as noise, or hard/standard)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.command == "hits":
        cache_hits(args.bench, args.db, args.out, args.override)
    else:
        sweep(args.bench, args.hits, args.set, args.modalities, args.evidence, args.null_hours, args.groups)


if __name__ == "__main__":
    main()

"""How well a model's interval embeddings find copies, before any matcher: exact top-1 search per copy and edit.

For every ground-truth copy of a benchmark whose audio (or picture) was kept, each query interval lying
wholly inside the copy is searched exactly (dot product) against every catalog interval. It counts as found
when its nearest catalog interval is on the copy's line (the right reference, within ``--tolerance``
seconds of the position the copy maps it to). The *margin* is the similarity of the interval's true
position minus its best similarity to any other video: above 0 the true match wins.

This isolates the embedding from the matcher's thresholds and calibration, so two models (or two settings
of one) can be compared on the same copies in a minute:

    python benchmarks/copy_retrieval.py --bench outputs/bench/standard
    python benchmarks/copy_retrieval.py --bench outputs/bench/standard \
        --override model.audio.checkpoint=outputs/train/audio_v3/model.pt model.audio.projection=null
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.evaluate import edit_names, pairs_frame, read_ground_truth_csv
from avm.fingerprint import Fingerprinter, FingerprintOptions
from avm.manifest import read_inputs
from avm.media import DecodeOptions, decode
from jobs.schemas import register_configs

EVIDENCE = {"audio": ("audio", "both"), "visual": ("visual", "both")}

register_configs()


def _options(modality: str, overrides: list[str]) -> tuple[DecodeOptions, FingerprintOptions]:
    """The scan config's media and model settings for ``modality`` alone, with ``overrides``."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="scan", overrides=[f"model.modalities=[{modality}]", *overrides])
    return to_options(cfg.media, DecodeOptions), to_options(cfg.model, FingerprintOptions)


def _fingerprint(job: tuple[str, list[str], list, bool]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Interval start times and vectors of each file of one share of a manifest (run in a worker)."""
    modality, overrides, entries, query = job
    import torch
    torch.set_num_threads(1)
    media, model = _options(modality, overrides)
    printer = Fingerprinter(model)
    steps = model.query_steps() if query else None
    out = {}
    for entry in entries:
        prints = printer.fingerprint(decode(entry.uri, media, modalities=(modality,)), steps)
        if not prints:
            raise RuntimeError(f"{entry.uri}: too short to fingerprint (no complete interval)")
        if modality in prints:
            out[entry.video_id] = (np.asarray(prints[modality].t_start, np.float64),
                                   np.asarray(prints[modality].vectors, np.float32))
    return out


def fingerprint_all(modality: str, overrides: list[str], entries: list, query: bool,
                    workers: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Fingerprints of every manifest entry, computed by ``workers`` processes."""
    shares = [(modality, overrides, entries[i::workers], query) for i in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return {k: v for part in pool.map(_fingerprint, shares) for k, v in part.items()}


def copy_rows(bench: Path, modality: str, catalog: dict, queries: dict, tolerance: float,
              window: float) -> pd.DataFrame:
    """One row per ground-truth copy with the modality kept: its edits, share found at top-1, median margin."""
    ids = np.concatenate([[video_id] * len(t) for video_id, (t, _) in catalog.items()])
    times = np.concatenate([t for t, _ in catalog.values()])
    vectors = np.concatenate([v for _, v in catalog.values()])
    gt = pairs_frame(read_ground_truth_csv(str(bench / "ground_truth.csv")))
    edits = pd.read_csv(bench / "edits.csv", dtype=str, keep_default_na=False)
    rows = []
    for i, copy in gt.iterrows():
        if edits.at[i, "evidence"] not in EVIDENCE[modality] or copy.query_id not in queries:
            continue
        t, q = queries[copy.query_id]
        inside = (t >= copy.query_start) & (t + window <= copy.query_end)
        if not inside.any():
            continue
        speed = (copy.ref_end - copy.ref_start) / (copy.query_end - copy.query_start)
        expected = copy.ref_start + speed * (t[inside] - copy.query_start)
        sims = q[inside] @ vectors.T
        top = sims.argmax(axis=1)
        found = (ids[top] == copy.ref_id) & (np.abs(times[top] - expected) <= tolerance)
        on_ref = ids == copy.ref_id
        near = on_ref[None, :] & (np.abs(times[None, :] - expected[:, None]) <= tolerance)
        true = np.where(near, sims, -np.inf).max(axis=1)
        foreign = np.where(on_ref[None, :], -np.inf, sims).max(axis=1)
        rows.append({"query_id": copy.query_id, "ref_id": copy.ref_id, "edits": edits.at[i, "edits"],
                     "intervals": int(inside.sum()), "top1": float(found.mean()),
                     "margin": float(np.median(true - foreign)), "true_similarity": float(np.median(true))})
    return pd.DataFrame(rows)


def per_edit(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean top-1 share and median margin of the copies carrying each edit (a copy counts once per edit)."""
    exploded = rows.assign(edit=rows["edits"].map(lambda e: list(edit_names(e)) or ["none"])).explode("edit")
    table = exploded.groupby("edit").agg(copies=("top1", "size"), top1=("top1", "mean"), margin=("margin", "median"))
    overall = pd.DataFrame({"copies": [len(rows)], "top1": [rows["top1"].mean()],
                            "margin": [rows["margin"].median()]}, index=["all"])
    return pd.concat([overall, table])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--modality", choices=sorted(EVIDENCE), default="audio")
    parser.add_argument("--override", nargs="*", default=[], help="Hydra overrides of the scan config (model)")
    parser.add_argument("--tolerance", type=float, default=1.0, help="seconds off the copy's line still found")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the per-copy rows here (CSV)")
    args = parser.parse_args()
    window = float(_options(args.modality, args.override)[1].model(args.modality).pooling.window)
    catalog = fingerprint_all(args.modality, args.override, read_inputs(str(args.bench / "refs.csv")), False,
                              args.workers)
    queries = fingerprint_all(args.modality, args.override, read_inputs(str(args.bench / "queries.csv")), True,
                              args.workers)
    rows = copy_rows(args.bench, args.modality, catalog, queries, args.tolerance, window)
    if args.out:
        rows.to_csv(args.out, index=False)
    print(f"{args.modality} copies of {args.bench} ({' '.join(args.override) or 'configured model'}):")
    print(per_edit(rows).round(3).to_string())


if __name__ == "__main__":
    main()

"""Recall of the ANN index against exact search, on our own fingerprints of real media.

Fingerprints a set of audio files with the shipped audio model and pooling (``conf/model``) into a temporary
LanceDB table, builds the configured index, then searches fingerprints of some of them taken half an index
step later (every query interval falls halfway between two stored ones, the worst case for a real query)
with exact search and with the index over a grid of nprobes/refine_factor.

Usage: python benchmarks/index_recall.py [--files GLOB] [--limit N] [--index-type IVF_PQ|IVF_RQ]
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.fingerprint import Fingerprinter
from avm.index import FingerprintStore, IndexOptions, knn, store_videos
from avm.index.maintenance import build_vector_index
from avm.media import DecodeOptions, decode
from avm.pipeline import ScanConfig
from jobs.schemas import register_configs

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "media"
MEDIA = SHARED if SHARED.exists() else REPO / "data" / "demo"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", default=str(MEDIA / "music" / "*.opus"))
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--queries", type=int, default=5, help="files whose query-step fingerprints are searched")
    parser.add_argument("--index-type", default="IVF_PQ")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(2)
    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        job = to_options(compose(config_name="scan", overrides=["model.modalities=[audio]"]), ScanConfig)
    fp = Fingerprinter(job.model)
    step = float(job.model.audio.pooling.step)
    files = sorted(glob.glob(args.files))[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        store = FingerprintStore(IndexOptions(uri=tmp, build_min_rows=0, index_type=args.index_type))
        queries, stored = [], {}
        for i, path in enumerate(files):
            media = decode(path, DecodeOptions(), modalities=("audio",))
            prints = fp.fingerprint(media)["audio"]
            stored[Path(path).stem] = {"audio": prints}
            if i < args.queries:
                shift = int(round(step / 2 * media.sample_rate))
                later = dataclasses.replace(media, audio=media.audio[shift:])
                queries.append(fp.fingerprint(later)["audio"].vectors)
        store_videos(store, stored)
        rows = store.count("audio")
        started = time.perf_counter()
        build_vector_index(store, store.fingerprints("audio"))
        build = time.perf_counter() - started
        q = np.concatenate(queries).astype(np.float32)
        started = time.perf_counter()
        exact = knn(store, "audio", q, args.k, exact=True).to_table().to_pandas()
        exact_ms = (time.perf_counter() - started) * 1000 / len(q)
        truth = set(zip(exact.query_index, exact.video_id, exact.t_start, strict=True))
        print(f"{rows} stored intervals from {len(files)} files; {len(q)} queries; {args.index_type} built in "
              f"{build:.1f} s; exact search {exact_ms:.2f} ms/query")
        print(f"{'nprobes':>8}{'refine':>8}{'recall@' + str(args.k):>11}{'top-1 agree':>13}{'ms/query':>10}")
        exact_top = exact.sort_values("similarity", ascending=False).groupby("query_index").first()
        for nprobes in (8, 32, 64):
            for refine in (None, 10):
                store.opts = IndexOptions(uri=tmp, nprobes=nprobes, refine_factor=refine)
                started = time.perf_counter()
                approx = knn(store, "audio", q, args.k).to_table().to_pandas()
                ms = (time.perf_counter() - started) * 1000 / len(q)
                found = set(zip(approx.query_index, approx.video_id, approx.t_start, strict=True))
                top = approx.sort_values("similarity", ascending=False).groupby("query_index").first()
                agree = float((top.t_start == exact_top.t_start).mean())
                print(f"{nprobes:>8}{str(refine):>8}{len(found & truth) / len(truth):>11.3f}{agree:>13.3f}{ms:>10.2f}")


if __name__ == "__main__":
    main()

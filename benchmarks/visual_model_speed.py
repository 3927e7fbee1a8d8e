"""Cost of the visual path on one CPU core: ffmpeg decode per kept frame vs each visual model per frame.

usage: python benchmarks/visual_model_speed.py [VIDEO ...]   (default: the demo footage in data/demo/footage)

Decoding runs avm.media exactly as ingest does (2 fps, 128 px, bars removed); the models run on the decoded
frames in batches of ``model.frame_batch_size`` with ``torch.set_num_threads(1)``. Prints ms per kept frame
and the share of decode-only throughput the whole path (decode + model) keeps.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from avm.fingerprint import FingerprintOptions
from avm.media import DecodeOptions, decode_frames, remove_black_bars
from avm.models import ModelSpec, build_model

REPO = Path(__file__).resolve().parent.parent
SHIPPED = FingerprintOptions()
MODELS = (SHIPPED.visual.spec(), ModelSpec("visual_tiny"))


def best_of(repeats: int, fn) -> float:
    """The fastest of ``repeats`` timings of ``fn()`` in seconds (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def embed_all(model: torch.nn.Module, decoded: list[np.ndarray], batch_size: int) -> None:
    """Run ``model`` over every decoded frame, ``batch_size`` frames per call (as the fingerprinter does)."""
    for frames in decoded:
        for i in range(0, len(frames), batch_size):
            model(torch.from_numpy(np.array(frames[i:i + batch_size])))


def main(paths: list[str]) -> None:
    torch.set_num_threads(1)
    videos = paths or sorted(str(p) for p in (REPO / "data" / "demo" / "footage").glob("*.*"))
    opts = DecodeOptions(ffmpeg_threads=1)
    decoded: list[np.ndarray] = []
    decode_seconds = 0.0
    for video in videos:
        decode_seconds += best_of(2, partial(decode_frames, video, opts))
        decoded.append(remove_black_bars(decode_frames(video, opts), opts.bar_threshold, opts.max_bar_fraction)[0])
    n = sum(len(f) for f in decoded)
    decode_ms = 1000 * decode_seconds / n
    print(f"decode (ffmpeg, {len(videos)} files, {n} frames at {opts.frame_rate:g} fps): {decode_ms:.2f} ms/frame")
    for spec in MODELS:
        model, version = build_model(spec)
        with torch.inference_mode():
            model_ms = 1000 * best_of(3, partial(embed_all, model, decoded, SHIPPED.frame_batch_size)) / n
        print(f"{version}: {model_ms:.3f} ms/frame; decode + model keeps "
              f"{decode_ms / (decode_ms + model_ms):.2f} of decode-only throughput")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Fingerprint extraction speed per core beside ffmpeg's decode-only speed on the same files.

Runs in one process on one core (ffmpeg -threads 1, torch 1 thread), side by side per file, so the ratios
hold on a noisy machine. Audio and video are measured separately:

  ffmpeg decode-only   ffmpeg -threads 1 -i FILE -map 0:a:0 (or 0:v:0) -f null -
  avm audio            decode to 16 kHz mono float32 + log-mel + CNN + interval pooling
  avm video            decode to 2 fps gray 128 px + bar removal + embedder + interval pooling

Usage: python benchmarks/ingest_speed.py [--audio GLOB] [--video GLOB] [--repeat N]
"""

from __future__ import annotations

import argparse
import functools
import glob
import subprocess
import time
from pathlib import Path

import torch

from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel
from avm.media import (
    DecodedMedia,
    DecodeOptions,
    MediaInfo,
    decode_audio,
    decode_frames,
    ffmpeg_exe,
    probe,
    remove_black_bars,
)

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "media"
MEDIA = SHARED if SHARED.exists() else REPO / "data" / "demo"


def ffmpeg_decode_only(path: str, stream: str) -> float:
    """Seconds ffmpeg takes to decode one stream of ``path`` to nothing, on one thread."""
    started = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-threads", "1", "-i", path, "-map", f"0:{stream}:0",
                    "-f", "null", "-"], check=True)
    return time.perf_counter() - started


def best_of(repeat: int, fn):
    """The fastest of ``repeat`` calls of ``fn``, each returning a tuple whose first item is its total seconds."""
    return min((fn() for _ in range(repeat)), key=lambda result: result[0])


def avm_seconds(path: str, info: MediaInfo, stream: str, opts: DecodeOptions, fp: Fingerprinter) -> tuple[float, float]:
    """Seconds AVM takes to decode and fingerprint one stream of ``path``, and of those, to decode it."""
    started = time.perf_counter()
    if stream == "a":
        media = DecodedMedia(info, decode_audio(path, opts), opts.sample_rate, None, opts.frame_rate)
    else:
        frames, _ = remove_black_bars(decode_frames(path, opts), opts.bar_threshold, opts.max_bar_fraction)
        media = DecodedMedia(info, None, opts.sample_rate, frames, opts.frame_rate)
    decoded = time.perf_counter()
    fp.fingerprint(media)
    return time.perf_counter() - started, decoded - started


def measure(paths: list[str], stream: str, repeat: int, opts: DecodeOptions, fp: Fingerprinter) -> dict[str, float]:
    """Seconds of media, ffmpeg decode-only, AVM decode and AVM decode + fingerprint over ``paths`` (one stream)."""
    totals = {"media": 0.0, "ffmpeg": 0.0, "decode": 0.0, "avm": 0.0}
    for path in paths:
        info = probe(path)
        if not (info.has_audio if stream == "a" else info.has_video):
            continue
        totals["media"] += info.duration
        totals["ffmpeg"] += best_of(repeat, lambda p=path: (ffmpeg_decode_only(p, stream),))[0]
        total, decode_only = best_of(repeat, functools.partial(avm_seconds, path, info, stream, opts, fp))
        totals["avm"] += total
        totals["decode"] += decode_only
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", default=str(MEDIA / "music" / "*.opus"))
    parser.add_argument("--audio-limit", type=int, default=8, help="files of the audio glob to use")
    parser.add_argument("--video", default=str(MEDIA / "footage" / "*.*"))
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    opts = DecodeOptions(ffmpeg_threads=1)
    fp = Fingerprinter(FingerprintOptions(audio=ModalityModel("audio_cnn"), visual=ModalityModel("visual_tiny"),
                                          threads=1))
    results = {"audio": measure(sorted(glob.glob(args.audio))[: args.audio_limit], "a", args.repeat, opts, fp),
               "video": measure(sorted(glob.glob(args.video)), "v", args.repeat, opts, fp)}
    print(f"media: {MEDIA}")
    print(f"{'stream':<7}{'media s':>9}{'ffmpeg decode-only':>20}{'avm decode':>12}{'avm total':>11}{'avm/ffmpeg':>12}")
    for name, totals in results.items():
        media = totals["media"]
        ff, dec, total = (media / totals[k] for k in ("ffmpeg", "decode", "avm"))
        print(f"{name:<7}{media:>9.0f}{ff:>19.0f}×{dec:>11.0f}×{total:>10.0f}×{total / ff:>12.2f}")
    print("(× realtime on one core; best of", args.repeat, "runs per file)")


if __name__ == "__main__":
    main()

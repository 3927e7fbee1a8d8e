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
import glob
import subprocess
import time
from pathlib import Path

import torch

from avm.fingerprint import FingerprintOptions, Fingerprinter, PoolingOptions
from avm.media import DecodedMedia, DecodeOptions, decode_audio, decode_frames, ffmpeg_exe, probe, remove_black_bars
from avm.models import ModelSpec

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
    """The fastest of ``repeat`` calls of ``fn`` (each returns a tuple whose first item is its total seconds)."""
    return min((fn() for _ in range(repeat)), key=lambda result: result[0] if isinstance(result, tuple) else result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", default=str(MEDIA / "music" / "*.opus"))
    parser.add_argument("--audio-limit", type=int, default=8, help="files of the audio glob to use")
    parser.add_argument("--video", default=str(MEDIA / "footage" / "*.*"))
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    opts = DecodeOptions(ffmpeg_threads=1)
    fp = Fingerprinter(FingerprintOptions(models={"audio": ModelSpec("audio_cnn"), "visual": ModelSpec("visual_tiny")},
                                          pooling={"audio": PoolingOptions(), "visual": PoolingOptions()}, threads=1))
    totals = {k: 0.0 for k in ("a_media", "a_ffmpeg", "a_avm", "a_decode", "v_media", "v_ffmpeg", "v_avm", "v_decode")}
    for path in sorted(glob.glob(args.audio))[: args.audio_limit]:
        info = probe(path)
        if not info.has_audio:
            continue
        totals["a_media"] += info.duration
        totals["a_ffmpeg"] += best_of(args.repeat, lambda: ffmpeg_decode_only(path, "a"))

        def run_audio() -> tuple[float, float]:
            started = time.perf_counter()
            audio = decode_audio(path, opts)
            decoded = time.perf_counter()
            fp.fingerprint(DecodedMedia(info, audio, 16000, None, opts.frame_rate))
            return time.perf_counter() - started, decoded - started
        total, decode_only = best_of(args.repeat, run_audio)
        totals["a_avm"] += total
        totals["a_decode"] += decode_only
    for path in sorted(glob.glob(args.video)):
        info = probe(path)
        if not info.has_video:
            continue
        totals["v_media"] += info.duration
        totals["v_ffmpeg"] += best_of(args.repeat, lambda: ffmpeg_decode_only(path, "v"))

        def run_video() -> tuple[float, float]:
            started = time.perf_counter()
            frames, _ = remove_black_bars(decode_frames(path, opts), opts.bar_threshold, opts.max_bar_fraction)
            decoded = time.perf_counter()
            fp.fingerprint(DecodedMedia(info, None, 16000, frames, opts.frame_rate))
            return time.perf_counter() - started, decoded - started
        total, decode_only = best_of(args.repeat, run_video)
        totals["v_avm"] += total
        totals["v_decode"] += decode_only
    print(f"media: {MEDIA}")
    print(f"{'stream':<7}{'media s':>9}{'ffmpeg decode-only':>20}{'avm decode':>12}{'avm total':>11}{'avm/ffmpeg':>12}")
    for key, name in (("a", "audio"), ("v", "video")):
        media = totals[f"{key}_media"]
        ff, dec, total = (media / totals[f"{key}_{k}"] for k in ("ffmpeg", "decode", "avm"))
        print(f"{name:<7}{media:>9.0f}{ff:>19.0f}×{dec:>11.0f}×{total:>10.0f}×{total / ff:>12.2f}")
    print("(× realtime on one core; best of", args.repeat, "runs per file)")


if __name__ == "__main__":
    main()

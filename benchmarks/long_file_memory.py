"""Peak memory of decoding and fingerprinting one long file, as one ingest worker does it.

Makes a file of ``--hours`` by looping a real clip (default: a minute of real footage under real music, 640×360
H.264/AAC) with stream copy (``ffmpeg -stream_loop -1 -t ... -c copy``,
no re-encode), then runs the decode and embed stages on it in this process (:func:`avm.pipeline.run_stages`,
the code a Ray worker runs) and reports the peak resident memory of this process (``ru_maxrss``; ffmpeg's own
peak is reported apart, from the reaped children), the media hours fingerprinted, the rows made per modality
and the wall time. The memory a decode or embed worker needs for a file of that length is this peak.

Usage: python benchmarks/long_file_memory.py [--hours 3] [--clip FILE] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.media import ffmpeg_exe
from avm.pipeline import DecodeStage, FingerprintStage, IngestConfig, MediaRow, run_stages
from jobs.schemas import register_configs

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "media"


def default_clip(out: Path) -> Path:
    """A one-minute clip with sound and picture: real footage (looped) under a real music track, muxed once."""
    media = SHARED if SHARED.exists() else REPO / "data" / "demo"
    footage, music = media / "footage" / "bottle-detection.mp4", sorted((media / "music").glob("*.opus"))[0]
    clip = out / "clip.mp4"
    if not clip.exists():
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(footage), "-i", str(music),
                        "-map", "0:v:0", "-map", "1:a:0", "-t", "60", "-vf", "scale=640:360", "-c:v", "libx264",
                        "-preset", "veryfast", "-c:a", "aac", str(clip)], check=True)
    return clip


def long_file(clip: Path, hours: float, out: Path) -> Path:
    """``clip`` looped to ``hours`` without re-encoding."""
    path = out / f"long_{hours:g}h{clip.suffix}"
    if not path.exists():
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip), "-t",
                        str(hours * 3600), "-c", "copy", str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--clip", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "bench" / "long_file")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = to_options(compose(config_name="ingest", overrides=["input=unused"]), IngestConfig)
    path = long_file(args.clip or default_clip(args.out), args.hours, args.out)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    stages = [DecodeStage(cfg.media, cfg.model.modalities), FingerprintStage(cfg.model)]
    (row,) = run_stages(stages, [MediaRow(str(path), path.stem)])
    seconds = time.perf_counter() - started
    result = {"file": str(path), "bytes": path.stat().st_size, "media_hours": row.duration / 3600,
              "error": row.error, "rows": {m: len(fp) for m, fp in row.prints.items()}, "wall_s": seconds,
              "rss_mib_before": before,
              "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "ffmpeg_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    (args.out / f"long_{args.hours:g}h.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

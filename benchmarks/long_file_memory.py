"""Peak memory of decoding and fingerprinting one long file, as one ingest worker does it.

Makes a file of ``--hours`` by looping a real clip (default: a minute of real footage under real music, 640×360
H.264/AAC) with stream copy (``ffmpeg -stream_loop -1 -t ... -c copy``,
no re-encode), then runs the decode, embed and assemble stages on it in this process
(:func:`avm.pipeline.run_stages`, the code the Ray workers run; a file longer than ``media.chunk_seconds`` goes
through them piece by piece, as on Ray) and reports the peak resident memory of this process (``ru_maxrss``), the
peak of its ffmpeg children (sampled every 0.1 s with psutil: a child's own ``ru_maxrss`` counts the parent's pages
it was forked with), the media hours fingerprinted, the rows made per modality
and the wall time. The memory a decode or embed worker needs for a file of that length is this peak.

With ``--ingest``, the file is ingested by the real job instead (``avm ingest`` on a local Ray, into a new store
under ``--out``), and every process of the job (driver, Ray workers, ffmpeg) is sampled every 0.5 s: the report
gives each one's peak private memory outside shared memory (what its heap holds), the peak of their sum, and the
peak of the object store's pages they hold (blocks in flight between stages, in /dev/shm).

Usage: python benchmarks/long_file_memory.py [--hours 3] [--clip FILE] [--out DIR] [--ingest] [OVERRIDE ...]
       (overrides of the ingest config, e.g. media.chunk_seconds=0 to decode the file whole)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psutil
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.manifest import ManifestEntry
from avm.media import ffmpeg_exe
from avm.pipeline import IngestConfig, MediaRow, fingerprinting_stages, run_stages
from avm.pipeline.ingest import run_ingest
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


class ChildMemory:
    """Peak memory of this process's children, sampled every ``interval`` seconds: of all of them together, and
    of each by name. ``private``: count what each one alone holds outside shared memory (its private pages, less
    those of /dev/shm mappings: the Ray object store, whose pages are summed apart) rather than its resident
    memory."""

    def __init__(self, interval: float = 0.1, private: bool = False) -> None:
        self.interval, self.private = interval, private
        self.peak_bytes, self.peak_shared_bytes = 0, 0
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sizes(self, process: psutil.Process) -> tuple[int, int]:
        """(own memory, pages of shared-memory mappings it holds privately)."""
        if not self.private:
            return process.memory_info().rss, 0
        own = shared = 0
        for mapping in process.memory_maps(grouped=True):
            pages = mapping.private_clean + mapping.private_dirty
            if mapping.path.startswith("/dev/shm"):
                shared += pages
            else:
                own += pages
        return own, shared

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            total = shared_total = 0
            for child in me.children(recursive=True):
                try:
                    (size, shared), name = self._sizes(child), child.name()
                except psutil.Error:
                    continue
                total, shared_total = total + size, shared_total + shared
                self.peaks[name] = max(self.peaks.get(name, 0), size)
            self.peak_bytes = max(self.peak_bytes, total)
            self.peak_shared_bytes = max(self.peak_shared_bytes, shared_total)

    def __enter__(self) -> ChildMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def stages_in_process(cfg: IngestConfig, path: Path) -> dict[str, object]:
    """``path`` through the decode, embed and assemble stages in this process, its memory and its ffmpeg's."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with ChildMemory() as children:
        (row,) = run_stages(fingerprinting_stages(cfg.media, cfg.model), [MediaRow(str(path), path.stem)])
    return {"media_hours": row.duration / 3600, "error": row.error,
            "rows": {m: len(fp) for m, fp in row.prints.items()}, "wall_s": time.perf_counter() - started,
            "rss_mib_before": before, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "ffmpeg_peak_rss_mib": children.peak_bytes / 2**20}


def ingest_job(cfg: IngestConfig, path: Path, out: Path) -> dict[str, object]:
    """``path`` ingested by the ingest job into a new store under ``out``, every process of the job sampled."""
    store = out / f"store_{time.time_ns()}"
    cfg = dataclasses.replace(cfg, index=dataclasses.replace(cfg.index, uri=str(store)))
    started = time.perf_counter()
    with ChildMemory(interval=0.5, private=True) as children:
        summary = run_ingest(cfg, [ManifestEntry(str(path), path.stem)])
    top = dict(sorted(children.peaks.items(), key=lambda kv: -kv[1])[:8])
    result = {"wall_s": time.perf_counter() - started, "ingested": summary.ingested, "failed": summary.failures,
              "rows_written": summary.rows_written, "media_hours": summary.media_hours,
              "driver_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "workers_peak_private_sum_mib": children.peak_bytes / 2**20,
              "object_store_peak_pages_mib": children.peak_shared_bytes / 2**20,
              "peak_private_mib_by_process": {name: size / 2**20 for name, size in top.items()}}
    shutil.rmtree(store, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--clip", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "bench" / "long_file")
    parser.add_argument("--ingest", action="store_true", help="run the ingest job on a local Ray instead")
    parser.add_argument("overrides", nargs="*", help="ingest config overrides")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = to_options(compose(config_name="ingest", overrides=["input=unused", *args.overrides]), IngestConfig)
    path = long_file(args.clip or default_clip(args.out), args.hours, args.out)
    measured = ingest_job(cfg, path, args.out) if args.ingest else stages_in_process(cfg, path)
    result = {"file": str(path), "overrides": args.overrides, "chunk_seconds": cfg.media.chunk_seconds,
              "bytes": path.stat().st_size, **measured}
    name = "_".join([f"long_{args.hours:g}h", *(["ingest"] if args.ingest else []),
                     *(o.replace("=", "-") for o in args.overrides)])
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Training pictures: find stills and videos, split off held-out files, decode once (as inference does) and cache.

Every file is decoded with avm.media exactly like an inference frame (gray, fitted into a square, black bars
removed), only at ``source_size`` (256 px by default) instead of 128, so that crops and zooms of a training
view still have the detail the decoder would have given them. Stills give one frame, videos one frame every
``1 / frame_rate`` seconds (at most ``max_video_frames``). Each frame is then stretched to a
``source_size`` square (the model squares every frame anyway); the frames of a file are cached as one uint8
``.npz`` with their times.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from avm.config import ranged
from avm.manifest import ManifestEntry
from avm.media import DecodeOptions, MediaError, decode_frames, decode_still, remove_black_bars
from avm.paths import resolve_path
from avm.train.files import existing_specs, split_heldout, training_entries

log = logging.getLogger(__name__)

STILL_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ogv", ".flv"})


@dataclass
class DataOptions:
    """Where training pictures come from and how they are prepared (``train.data`` of train=visual)."""

    # folders (searched recursively), globs or files; scripts/fetch_training_images.sh fetches the default
    train: tuple[str, ...] = ("data/train_images",)
    # never trained on (nor held out): the benchmark's footage and photos and the wallpapers of
    # scripts/fetch_extra_media.sh; matched by path and by file name
    exclude: tuple[str, ...] = ("../shared/media/footage", "../shared/media/photos", "outputs/extra_media/photos")
    heldout_fraction: float = ranged(0.1, 0.0, 0.9)  # files kept out of training, for the held-out evaluation
    source_size: int = ranged(256, 16)  # frames are decoded fitted into this square (inference: media.frame_size)
    frame_rate: float = ranged(0.5, 0.01)  # frames per second kept from videos
    max_video_frames: int = ranged(60, 1)
    bar_threshold: int = ranged(24, 0, 255)  # as media.bar_threshold
    max_bar_fraction: float = ranged(0.35, 0.0, 0.5)
    min_std: float = ranged(12.0, 0.0)  # frames flatter than this (gray levels) are dropped: nothing to recognise
    min_side: int = ranged(48, 1)  # frames whose picture is smaller than this after bar removal are dropped
    cache_dir: str = "outputs/train/cache_visual"
    workers: int = ranged(2, 1)  # parallel ffmpeg processes
    seed: int = 0


@dataclass
class Picture:
    """The usable frames of one file: uint8 [n, S, S] (stretched squares) and their times."""

    name: str
    uri: str
    frames: np.ndarray
    times: np.ndarray  # seconds of each frame in the file (0 for a still), float32 [n]

    @property
    def is_video(self) -> bool:
        return Path(self.uri).suffix.lower() in VIDEO_EXTENSIONS


@dataclass
class Corpus:
    """Training and held-out pictures, all squares of ``size`` pixels."""

    train: list[Picture]
    heldout: list[Picture]
    size: int

    def describe(self) -> dict[str, object]:
        """Files and frames per part (for logs and the model card)."""
        def count(pictures: list[Picture]) -> dict[str, int]:
            return {"files": len(pictures), "videos": sum(p.is_video for p in pictures),
                    "frames": int(sum(len(p.frames) for p in pictures))}
        return {"train": count(self.train), "heldout": count(self.heldout),
                "heldout_names": [p.name for p in self.heldout],
                "sources": sorted({Path(p.uri).parent.name for p in self.train + self.heldout})}


def list_inputs(specs: Sequence[str]) -> list[ManifestEntry]:
    """Stills and videos of every spec (folder searched recursively, glob or file), in a stable order.

    The id is ``<folder>/<stem>``, so equal file names from two packages stay two pictures.
    """
    found: dict[str, ManifestEntry] = {}
    for spec in existing_specs(specs):
        root = Path(spec)
        if root.is_dir():
            paths = sorted(root.rglob("*"))
        else:
            paths = [root] if root.is_file() else sorted(Path(p) for p in glob.glob(spec, recursive=True))
        for path in paths:
            if path.is_file() and path.suffix.lower() in STILL_EXTENSIONS | VIDEO_EXTENSIONS:
                uri = os.path.abspath(path)
                found.setdefault(uri, ManifestEntry(uri, f"{path.parent.name}/{path.stem}"))
    return sorted(found.values(), key=lambda e: e.uri)


def _square(frames: np.ndarray, size: int) -> np.ndarray:
    """Frames [n, h, w] uint8 → [n, size, size] uint8 (area resampling, stretched)."""
    x = torch.from_numpy(np.array(frames, dtype=np.uint8)).float().unsqueeze(1)  # a copy: decoded frames are read-only
    x = F.interpolate(x, size=(size, size), mode="area") if x.shape[-2:] != (size, size) else x
    return x.squeeze(1).round().clamp(0, 255).to(torch.uint8).numpy()


def decode_picture(uri: str, opts: DataOptions) -> tuple[np.ndarray, np.ndarray]:
    """(frames [n, S, S] uint8, times [n]) of one still or video, decoded like inference frames."""
    decode_opts = DecodeOptions(frame_rate=opts.frame_rate, frame_size=opts.source_size,
                                bar_threshold=opts.bar_threshold, max_bar_fraction=opts.max_bar_fraction)
    video = Path(uri).suffix.lower() in VIDEO_EXTENSIONS
    raw = decode_frames(uri, decode_opts)[:opts.max_video_frames] if video else decode_still(uri, decode_opts)
    if not len(raw):
        raise MediaError(uri, "decoded no frames")
    times = np.arange(len(raw), dtype=np.float32) / (opts.frame_rate if video else 1.0)
    frames, kept = [], []
    for i, frame in enumerate(raw):  # bars are found per frame: the frames of a training video are far apart
        cropped, _ = remove_black_bars(frame[None], opts.bar_threshold, opts.max_bar_fraction)
        h, w = cropped.shape[1:]
        if min(h, w) < opts.min_side or float(cropped.std()) < opts.min_std:
            continue
        frames.append(_square(cropped, opts.source_size)[0])
        kept.append(times[i])
    if not frames:
        raise MediaError(uri, f"no frame with a picture of at least {opts.min_side} px and contrast {opts.min_std}")
    return np.stack(frames), np.asarray(kept, np.float32)


def _cache_path(entry: ManifestEntry, opts: DataOptions) -> Path:
    stat = Path(entry.uri).stat()
    key = (entry.uri, stat.st_size, stat.st_mtime_ns, opts.source_size, opts.frame_rate, opts.max_video_frames,
           opts.bar_threshold, opts.max_bar_fraction, opts.min_std, opts.min_side)
    stem = entry.video_id.replace("/", "-")[:60]
    return resolve_path(opts.cache_dir) / f"{stem}-{hashlib.sha1(repr(key).encode()).hexdigest()[:12]}.npz"


def load_picture(entry: ManifestEntry, opts: DataOptions) -> Picture | None:
    """Decode (or read from the cache) one file; None, with a warning naming the file, if it is unusable."""
    path = _cache_path(entry, opts)
    try:
        if not path.exists():
            frames, times = decode_picture(entry.uri, opts)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, frames=frames, times=times)
            tmp.replace(path)
        with np.load(path) as saved:
            return Picture(entry.video_id, entry.uri, saved["frames"], saved["times"])
    except MediaError as exc:
        log.warning("skipping %s", exc)
        return None


def load_pictures(entries: list[ManifestEntry], opts: DataOptions) -> list[Picture]:
    """:func:`load_picture` over ``entries`` with ``opts.workers`` ffmpeg processes at a time."""
    with ThreadPoolExecutor(max(1, opts.workers)) as pool:
        kept = [p for p in pool.map(lambda e: load_picture(e, opts), entries) if p is not None]
    log.info("loaded %d of %d files (%d frames)", len(kept), len(entries), sum(len(p.frames) for p in kept))
    return kept


def load_corpus(opts: DataOptions) -> Corpus:
    """Split, decode and cache everything :class:`DataOptions` names."""
    entries = training_entries(opts.train, opts.exclude, list_inputs, lambda e: Path(e.uri).name, "pictures",
                               "scripts/fetch_training_images.sh")
    train, heldout = split_heldout(entries, opts.heldout_fraction, opts.seed)
    corpus = Corpus(load_pictures(train, opts), load_pictures(heldout, opts), opts.source_size)
    if len(corpus.train) < 2:
        raise ValueError(f"need at least 2 usable training pictures, got {len(corpus.train)} from {list(opts.train)}")
    return corpus

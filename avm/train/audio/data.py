"""Training audio: find files, split off held-out ones, decode once and cache, with offline ffmpeg variants.

Every file is decoded once to mono float32 at the model's rate and cached as a float16 ``.npy`` (memory-mapped
when training, so the page cache, not the process, holds the corpus). Edits that need a real codec or a
good pitch shifter are made once per track with ffmpeg (:mod:`avm.media.transform`) and cached beside it:
one lossy codec round trip (mp3, opus or aac at 32-64 kb/s, delay compensated) and one pitch shift with tempo
kept (rubberband, by ``semitones``: ±1-2 by default). Their parameters are drawn from a hash of the track and the
seed, so the cache is stable across runs; a variant's cache file is named by its parameters (e.g.
``<track>.pitch+1.37.npy``), so variants made under other settings are never read in their place. Everything
else is augmented on the fly in torch (:mod:`avm.train.audio.augment`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from avm.config import ranged
from avm.manifest import ManifestEntry, read_inputs
from avm.media import DecodeOptions, MediaError, decode_audio
from avm.media.transform import transform_audio
from avm.paths import resolve_path
from avm.train.files import existing_specs, split_heldout, training_entries, unit_hash

log = logging.getLogger(__name__)


@dataclass
class DataOptions:
    """Where training audio comes from and how it is prepared (``train.data`` of train=audio)."""

    # folders, globs or manifests (avm.manifest.read_inputs); scripts/fetch_training_audio.sh fetches the default
    train: tuple[str, ...] = ("data/train_audio/music",)
    # mixed into views as interference only, never used as content to match
    interference: tuple[str, ...] = ("../shared/media/speech",)
    # never trained on (nor held out): the benchmark's references; matched by path and by file name
    exclude: tuple[str, ...] = ("../shared/media/music",)
    heldout_fraction: float = ranged(0.1, 0.0, 0.9)  # files kept out of training, for the held-out evaluation
    min_seconds: float = ranged(10.0, 0.0)  # shorter files are skipped
    max_track_seconds: float | None = None  # keep only the start of each file (tests, quick trials)
    cache_dir: str = "outputs/train/cache"
    sample_rate: int = ranged(16000, 8000)
    variants: tuple[str, ...] = ("codec", "pitch")  # offline variant families made for every training track
    codecs: tuple[str, ...] = ("mp3", "opus", "aac")
    bitrate_kbps: tuple[int, int] = (32, 64)
    # |pitch shift| range of the "pitch" variants (rubberband, tempo kept); the sign is drawn too. Each track's
    # shift is low + u·(high - low) for a fixed hash u of the track, and names its cache file (another range: new files)
    semitones: tuple[float, float] = (1.0, 2.0)
    workers: int = ranged(2, 1)  # parallel ffmpeg processes
    seed: int = 0


@dataclass
class Track:
    """One decoded file: the clean signal and its offline variants (float16, possibly memory-mapped)."""

    name: str
    uri: str
    clean: np.ndarray
    variants: dict[str, np.ndarray] = field(default_factory=dict)  # label (e.g. "mp3_48k", "pitch+1.5") → signal

    @property
    def samples(self) -> int:
        return len(self.clean)


def list_inputs(specs: Sequence[str]) -> list[ManifestEntry]:
    """Every file of every spec (folder, glob or manifest), without duplicates, in a stable order."""
    entries: dict[str, ManifestEntry] = {}
    for spec in existing_specs(specs):
        for entry in read_inputs(spec):
            entries.setdefault(entry.uri, entry)
    return sorted(entries.values(), key=lambda e: e.uri)


def variant_plan(name: str, opts: DataOptions) -> dict[str, dict[str, str]]:
    """The offline variants of track ``name``: label → keyword arguments of :func:`transform_audio`."""
    plan: dict[str, dict[str, str]] = {}
    for family in opts.variants:
        u1, u2, u3 = (unit_hash(opts.seed, name, family, i) for i in range(3))
        if family == "codec":
            codec = opts.codecs[int(u1 * len(opts.codecs))]
            kbps = int(round(opts.bitrate_kbps[0] + u2 * (opts.bitrate_kbps[1] - opts.bitrate_kbps[0])))
            plan[f"{codec}_{kbps}k"] = {"codec": codec, "bitrate": f"{kbps}k"}
        elif family == "pitch":
            low, high = opts.semitones
            semitones = round((1 if u3 < 0.5 else -1) * (low + u1 * (high - low)), 2)
            plan[f"pitch{semitones:+.2f}"] = {"filters": f"rubberband=pitch={2 ** (semitones / 12):.6f}"}
        else:
            raise ValueError(f"unknown variant family {family!r} (known: codec, pitch)")
    return plan


def _cache_stem(entry: ManifestEntry, opts: DataOptions) -> str:
    path = Path(entry.uri)
    stat = path.stat() if path.exists() else None
    key = (entry.uri, stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0, opts.sample_rate,
           opts.max_track_seconds)
    return f"{entry.video_id[:60].replace('/', '-')}-{hashlib.sha1(repr(key).encode()).hexdigest()[:12]}"


def _cached(path: Path, make) -> np.ndarray:
    """``path`` memory-mapped if cached, else ``make()`` saved there as float16 first (atomically)."""
    if not path.exists():
        data = np.asarray(make(), dtype=np.float32)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, np.clip(data, -60000, 60000).astype(np.float16))
        tmp.replace(path)
    return np.load(path, mmap_mode="r")


def load_track(entry: ManifestEntry, opts: DataOptions, with_variants: bool) -> Track | None:
    """Decode (or read from the cache) one file and, if asked, its offline variants; None if unusable."""
    cache = resolve_path(opts.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    stem = _cache_stem(entry, opts)
    limit = None if opts.max_track_seconds is None else int(opts.max_track_seconds * opts.sample_rate)

    def decode() -> np.ndarray:
        return decode_audio(entry.uri, DecodeOptions(sample_rate=opts.sample_rate))[:limit]

    try:
        clean = _cached(cache / f"{stem}.npy", decode)
    except MediaError as exc:
        log.warning("skipping %s: %s", entry.uri, exc)
        return None
    if len(clean) < opts.min_seconds * opts.sample_rate:
        return None
    track = Track(entry.video_id, entry.uri, clean)
    if with_variants:
        for label, kwargs in variant_plan(entry.video_id, opts).items():
            track.variants[label] = _cached(cache / f"{stem}.{label}.npy", lambda kw=kwargs: transform_audio(
                np.asarray(clean, np.float32), opts.sample_rate, **kw))
    return track


def load_tracks(entries: list[ManifestEntry], opts: DataOptions, with_variants: bool) -> list[Track]:
    """:func:`load_track` over ``entries`` with ``opts.workers`` ffmpeg processes at a time."""
    with ThreadPoolExecutor(max(1, opts.workers)) as pool:
        tracks = list(pool.map(lambda e: load_track(e, opts, with_variants), entries))
    kept = [t for t in tracks if t is not None]
    hours = sum(t.samples for t in kept) / opts.sample_rate / 3600
    log.info("loaded %d of %d files (%.2f h)%s", len(kept), len(entries), hours,
             " with variants " + ", ".join(opts.variants) if with_variants else "")
    return kept


@dataclass
class Corpus:
    """Training tracks, held-out tracks and interference signals, all at ``sample_rate``."""

    train: list[Track]
    heldout: list[Track]
    interference: list[np.ndarray]
    sample_rate: int

    def describe(self) -> dict[str, object]:
        """Files and hours per part (for logs and the model card)."""
        def hours(signals) -> float:
            return round(sum(len(s) for s in signals) / self.sample_rate / 3600, 3)
        return {"train_files": len(self.train), "train_hours": hours(t.clean for t in self.train),
                "heldout_files": len(self.heldout), "heldout_hours": hours(t.clean for t in self.heldout),
                "heldout_names": [t.name for t in self.heldout],
                "interference_files": len(self.interference), "interference_hours": hours(self.interference)}


def load_corpus(opts: DataOptions) -> Corpus:
    """Split, decode and cache everything :class:`DataOptions` names (held-out tracks get no variants)."""
    entries = training_entries(opts.train, opts.exclude, list_inputs, lambda e: e.video_id, "audio",
                               "scripts/fetch_training_audio.sh")
    train, heldout = split_heldout(entries, opts.heldout_fraction, opts.seed)
    interference = [t.clean for t in load_tracks(list_inputs(opts.interference),
                                                 replace(opts, min_seconds=1.0), False)]
    corpus = Corpus(load_tracks(train, opts, True), load_tracks(heldout, opts, False), interference, opts.sample_rate)
    if not corpus.train:
        raise ValueError("no usable training tracks")
    return corpus


def track_weights(tracks: list[Track]) -> np.ndarray:
    """Sampling probability of each track: proportional to its length (every second equally likely)."""
    lengths = np.array([t.samples for t in tracks], dtype=np.float64)
    return lengths / lengths.sum()

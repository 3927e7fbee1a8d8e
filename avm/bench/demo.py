"""The demo benchmark: 5 reference videos, 4 pirated queries and 1 negative query, built from real media.

Planning is pure and seeded (:func:`plan_demo`); rendering (:func:`build_demo`) turns the plan into mp4 files
with ffmpeg, plus the ground truth (hackathon format), an edits log and ``uri,video_id`` manifests. A
``build.json`` marker, written last, lets a later call with the same seed and builder version skip the work.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from avm.bench.compose import (MOTIONS, Canvas, Clip, Encoding, Scene, Sound, Visual, concat, encode,
                               media_duration, scene_av)
from avm.bench.edits import Edit, edited_segment, sample_edits
from avm.schema import HACKATHON_GT_COLUMNS

BUILDER_VERSION = "demo-1"
MARKER = "build.json"
EDITS_COLUMNS = ("ID_piracy", "segment", "ID_license", "segment.1", "edits", "evidence")
MANIFEST_COLUMNS = ("uri", "video_id")

VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".mov")
PHOTO_EXTS = (".jpg", ".jpeg", ".png")
AUDIO_EXTS = (".opus", ".ogg", ".mp3", ".flac", ".wav", ".m4a")


@dataclass(frozen=True)
class Recipe:
    """Sizes of the demo benchmark (all durations in whole seconds)."""

    n_footage_refs: int = 3
    n_photo_refs: int = 2
    n_speech_refs: int = 1
    n_pirated: int = 4
    n_negative: int = 1
    ref_seconds: tuple[int, int] = (40, 55)
    query_seconds: tuple[int, int] = (40, 55)
    negative_seconds: tuple[int, int] = (40, 50)
    negative_pieces: int = 3
    borrow_seconds: tuple[int, int] = (10, 25)
    borrows_per_query: tuple[int, int] = (1, 2)
    min_filler: int = 3
    long_footage: float = 20.0  # footage at least this long may become a reference
    speech_group: float = 45.0  # utterances are joined until a group lasts this long
    min_speed: float = 0.5  # short reference footage is slowed down at most this much, then looped


# --- sources -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sources:
    """Media found in a folder laid out like ``../shared/media`` (paths relative to it)."""

    footage: tuple[Visual, ...]
    photos: tuple[Visual, ...]
    music: tuple[Sound, ...]
    speech: tuple[Sound, ...]


def _files(folder: Path, exts: Sequence[str]) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in exts) if folder.is_dir() else []


def _clip(path: Path, root: Path, kind: str) -> Clip:
    return Clip(path.relative_to(root), 0.0, math.floor(media_duration(path, kind) * 100) / 100)


def _speech_groups(clips: Sequence[Clip], seconds: float) -> Iterator[Sound]:
    group: list[Clip] = []
    for clip in clips:
        group.append(clip)
        if sum(c.duration for c in group) >= seconds:
            yield Sound(f"speech/{group[0].path.stem}+{len(group) - 1}", tuple(group))
            group = []


def discover_sources(media_dir: Path, recipe: Recipe = Recipe()) -> Sources:
    """Probe ``footage/`` (files, and sub-folders as multi-take sources), ``photos/``, ``music/``, ``speech/``."""
    root = media_dir
    footage = [Visual(str(p.relative_to(root)), "footage", (_clip(p, root, "video"),))
               for p in _files(root / "footage", VIDEO_EXTS)]
    footage += [Visual(str(d.relative_to(root)), "footage", tuple(_clip(p, root, "video") for p in takes))
                for d in sorted(p for p in (root / "footage").glob("*") if p.is_dir())
                if (takes := _files(d, VIDEO_EXTS))]
    photos = [Visual(str(p.relative_to(root)), "photo", (Clip(p.relative_to(root), 0.0, 0.0),))
              for p in _files(root / "photos", PHOTO_EXTS)]
    music = [Sound(str(p.relative_to(root)), (_clip(p, root, "audio"),)) for p in _files(root / "music", AUDIO_EXTS)]
    utterances = [_clip(p, root, "audio") for p in _files(root / "speech", AUDIO_EXTS)]
    speech = list(_speech_groups(utterances, recipe.speech_group))
    return Sources(tuple(footage), tuple(photos), tuple(music), tuple(speech))


# --- plan --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Borrow:
    """A segment cut from a reference, edited, and spliced into a query."""

    ref_id: str
    ref_start: int
    duration: int
    edits: tuple[Edit, ...]
    evidence: str = "both"  # which modalities carry the borrowed content


@dataclass(frozen=True)
class RefPlan:
    ref_id: str
    scene: Scene

    @property
    def duration(self) -> int:
        return self.scene.duration


@dataclass(frozen=True)
class QueryPlan:
    query_id: str
    pieces: tuple[Scene | Borrow, ...]

    @property
    def duration(self) -> int:
        return sum(p.duration for p in self.pieces)

    def borrows(self) -> list[tuple[int, Borrow]]:
        """(query start second, borrow) of every borrowed piece."""
        found, position = [], 0
        for piece in self.pieces:
            if isinstance(piece, Borrow):
                found.append((position, piece))
            position += piece.duration
        return found


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    refs: tuple[RefPlan, ...]
    queries: tuple[QueryPlan, ...]
    canvas: Canvas = field(default_factory=Canvas)

    def ground_truth(self) -> list[tuple[str, str, str, str]]:
        """Rows of the hackathon ground truth: query file, "start-end", reference file, "start-end"."""
        return [(f"{q.query_id}.mp4", f"{start}-{start + b.duration}",
                 f"{b.ref_id}.mp4", f"{b.ref_start}-{b.ref_start + b.duration}")
                for q in self.queries for start, b in q.borrows()]

    def digest(self) -> str:
        """A stable hash of the whole plan (changes when the seed, recipe or media change)."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class _SoundCursor:
    """Hands out non-overlapping stretches of sounds, taking each request from the next sound in turn."""

    def __init__(self, sounds: Sequence[Sound]):
        self.sounds, self.index = list(sounds), 0
        self.offsets = [0.0] * len(self.sounds)

    def take(self, seconds: int) -> tuple[Sound, float]:
        for _ in range(2 * len(self.sounds)):
            i = self.index
            self.index = (i + 1) % len(self.sounds)
            if self.offsets[i] + seconds <= self.sounds[i].length:
                self.offsets[i] += seconds
                return self.sounds[i], self.offsets[i] - seconds
            if self.offsets[i] > 0:  # used up: start it over for the next round
                self.offsets[i] = 0.0
        return self.sounds[self.index], 0.0  # every sound is shorter: it will be padded with silence


def _split(rng: random.Random, total: int, parts: int, minimum: int) -> list[int]:
    """``parts`` whole numbers >= ``minimum`` that add up to ``total``, drawn at random."""
    spare = total - parts * minimum
    cuts = sorted(rng.randint(0, spare) for _ in range(parts - 1))
    return [minimum + b - a for a, b in zip([0, *cuts], [*cuts, spare])]


def _filler(rng: random.Random, duration: int, visuals: Iterator[Visual], sounds: _SoundCursor) -> Scene:
    visual = next(visuals)
    sound, sound_start = sounds.take(duration)
    visual_start = 0 if visual.kind == "photo" else rng.randint(0, max(0, int(visual.length) - 1))
    return Scene(visual, sound, duration, visual_start=visual_start, sound_start=sound_start,
                 motion=rng.choice(sorted(MOTIONS)))


def _cycle(items: Sequence[Visual]) -> Iterator[Visual]:
    while True:
        yield from items


def _plan_refs(rng: random.Random, sources: Sources, recipe: Recipe) -> tuple[list[RefPlan], set[str]]:
    long_footage = [v for v in sources.footage if v.length >= recipe.long_footage]
    long_music = [s for s in sources.music if s.length >= recipe.ref_seconds[0]]
    long_speech = [s for s in sources.speech if s.length >= recipe.ref_seconds[0]]
    n_refs = recipe.n_footage_refs + recipe.n_photo_refs
    visuals = rng.sample(long_footage, recipe.n_footage_refs) + rng.sample(list(sources.photos), recipe.n_photo_refs)
    sounds = rng.sample(long_speech, recipe.n_speech_refs) + rng.sample(long_music, n_refs - recipe.n_speech_refs)
    rng.shuffle(visuals)
    rng.shuffle(sounds)
    refs = []
    for number, (visual, sound) in enumerate(zip(visuals, sounds), start=1):
        duration = rng.randint(recipe.ref_seconds[0], min(recipe.ref_seconds[1], int(sound.length)))
        speed = round(min(1.0, max(recipe.min_speed, visual.length / duration)), 3)
        sound_start = rng.randint(0, int(sound.length) - duration)
        scene = Scene(visual, sound, duration, sound_start=sound_start, speed=speed,
                      motion=rng.choice(sorted(MOTIONS)))
        refs.append(RefPlan(f"r_{number:03d}", scene))
    return refs, {v.name for v in visuals} | {s.name for s in sounds}


def _plan_borrows(rng: random.Random, refs: Sequence[RefPlan], count: int, recipe: Recipe) -> list[Borrow]:
    order = list(refs)
    rng.shuffle(order)
    borrows = []
    for i in range(count):
        ref = order[i % len(order)]
        length = rng.randint(recipe.borrow_seconds[0], min(recipe.borrow_seconds[1], ref.duration))
        borrows.append(Borrow(ref.ref_id, rng.randint(0, ref.duration - length), length, sample_edits(rng)))
    return borrows


def plan_demo(media_dir: Path, seed: int = 0, recipe: Recipe = Recipe()) -> DemoPlan:
    """Decide every reference, query, borrowed segment and edit (no media is written)."""
    rng = random.Random(seed)
    sources = discover_sources(media_dir, recipe)
    refs, used = _plan_refs(rng, sources, recipe)
    filler_visuals = [v for v in (*sources.footage, *sources.photos) if v.name not in used]
    filler_sounds = [s for s in (*sources.music, *sources.speech) if s.name not in used]
    rng.shuffle(filler_visuals)
    rng.shuffle(filler_sounds)
    visuals, sounds = _cycle(filler_visuals), _SoundCursor(filler_sounds)

    n_queries = recipe.n_pirated + recipe.n_negative
    negatives = set(rng.sample(range(n_queries), recipe.n_negative))
    counts = [rng.randint(*recipe.borrows_per_query) for _ in range(recipe.n_pirated)]
    borrows = iter(_plan_borrows(rng, refs, sum(counts), recipe))
    counts_iter = iter(counts)
    queries = []
    for number in range(1, n_queries + 1):
        if number - 1 in negatives:
            total = rng.randint(*recipe.negative_seconds)
            fillers = _split(rng, total, recipe.negative_pieces, recipe.min_filler)
            pieces: list[Scene | Borrow] = [_filler(rng, d, visuals, sounds) for d in fillers]
        else:
            taken = [next(borrows) for _ in range(next(counts_iter))]
            borrowed = sum(b.duration for b in taken)
            total = max(rng.randint(*recipe.query_seconds), borrowed + recipe.min_filler * (len(taken) + 1))
            fillers = _split(rng, total - borrowed, len(taken) + 1, recipe.min_filler)
            pieces = [_filler(rng, fillers[0], visuals, sounds)]
            for borrow, filler in zip(taken, fillers[1:]):
                pieces += [borrow, _filler(rng, filler, visuals, sounds)]
        queries.append(QueryPlan(f"q_{number:03d}", tuple(pieces)))
    return DemoPlan(seed, tuple(refs), tuple(queries))


# --- render ------------------------------------------------------------------------------------------------

REF_ENCODING = Encoding(crf=23, preset="veryfast", audio_bitrate="128k")
QUERY_ENCODING = Encoding(crf=26, preset="veryfast", audio_bitrate="96k")


def render_ref(ref: RefPlan, media_dir: Path, path: Path, canvas: Canvas) -> Path:
    """Encode one reference video."""
    video, audio = scene_av(ref.scene, media_dir, canvas)
    return encode(video, audio, path, canvas, REF_ENCODING, ref.duration)


def render_query(query: QueryPlan, media_dir: Path, refs_dir: Path, path: Path, work_dir: Path,
                 canvas: Canvas) -> Path:
    """Encode one query: its filler scenes and edited borrowed segments, joined in order."""
    pieces = []
    for index, piece in enumerate(query.pieces):
        if isinstance(piece, Borrow):
            pieces.append(edited_segment(refs_dir / f"{piece.ref_id}.mp4", piece.ref_start, piece.duration,
                                         piece.edits, canvas, work_dir / f"{query.query_id}_{index}.mp4"))
        else:
            pieces.append(scene_av(piece, media_dir, canvas))
    return encode(*concat(pieces), path, canvas, QUERY_ENCODING, query.duration)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _edit_rows(plan: DemoPlan) -> list[tuple[str, ...]]:
    borrows = [b for q in plan.queries for _, b in q.borrows()]
    return [(*gt, ";".join(e.label() for e in b.edits), b.evidence) for gt, b in zip(plan.ground_truth(), borrows)]


def _result(out_dir: Path, marker: dict[str, Any], skipped: bool) -> dict[str, Any]:
    paths = {key: out_dir / rel for key, rel in marker["paths"].items()}
    return {**paths, **marker["counts"], "out_dir": out_dir, "seed": marker["seed"],
            "version": marker["version"], "seconds": marker["seconds"], "skipped": skipped}


def _complete(out_dir: Path, seed: int, digest: str) -> dict[str, Any] | None:
    try:
        marker = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if (marker.get("version"), marker.get("seed"), marker.get("plan")) != (BUILDER_VERSION, seed, digest):
        return None
    if not all((out_dir / rel).is_file() for rel in marker.get("files", [])):
        return None
    return marker


def build_demo(media_dir: Path, out_dir: Path, seed: int = 0, jobs: int = 2,
               recipe: Recipe = Recipe()) -> dict[str, Any]:
    """Build the demo benchmark from ``media_dir`` into ``out_dir`` (skipped when already built alike).

    Returns the output paths (``refs_dir``, ``queries_dir``, ``ground_truth``, ``edits``, ``refs_manifest``,
    ``queries_manifest``), the counts (``n_refs``, ``n_queries``, ``n_borrowed``, ``n_negative``), ``seed``,
    ``version``, ``seconds`` (build time) and ``skipped``. ``jobs`` videos are encoded at a time.
    """
    media_dir, out_dir = Path(media_dir).resolve(), Path(out_dir).resolve()
    plan = plan_demo(media_dir, seed, recipe)
    digest = plan.digest()
    if (marker := _complete(out_dir, seed, digest)) is not None:
        return _result(out_dir, marker, skipped=True)

    started = time.monotonic()
    (out_dir / MARKER).unlink(missing_ok=True)
    refs_dir, queries_dir, work_dir = out_dir / "refs", out_dir / "queries", out_dir / ".work"
    for folder in (refs_dir, queries_dir, work_dir):
        folder.mkdir(parents=True, exist_ok=True)
    canvas = plan.canvas
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        ref_paths = list(pool.map(lambda r: render_ref(r, media_dir, refs_dir / f"{r.ref_id}.mp4", canvas),
                                  plan.refs))
        query_paths = list(pool.map(lambda q: render_query(q, media_dir, refs_dir, queries_dir / f"{q.query_id}.mp4",
                                                           work_dir, canvas), plan.queries))
    shutil.rmtree(work_dir, ignore_errors=True)

    tables = {
        "ground_truth": _write_csv(out_dir / "ground_truth.csv", HACKATHON_GT_COLUMNS, plan.ground_truth()),
        "edits": _write_csv(out_dir / "edits.csv", EDITS_COLUMNS, _edit_rows(plan)),
        "refs_manifest": _write_csv(out_dir / "refs.csv", MANIFEST_COLUMNS, [(str(p), p.stem) for p in ref_paths]),
        "queries_manifest": _write_csv(out_dir / "queries.csv", MANIFEST_COLUMNS,
                                       [(str(p), p.stem) for p in query_paths]),
    }

    def rel(path: Path) -> str:
        return str(path.relative_to(out_dir))

    marker = {
        "version": BUILDER_VERSION, "seed": seed, "plan": digest, "seconds": round(time.monotonic() - started, 2),
        "paths": {"refs_dir": "refs", "queries_dir": "queries", **{k: rel(p) for k, p in tables.items()}},
        "counts": {"n_refs": len(ref_paths), "n_queries": len(query_paths),
                   "n_borrowed": len(plan.ground_truth()),
                   "n_negative": sum(not q.borrows() for q in plan.queries)},
        "files": [rel(p) for p in (*ref_paths, *query_paths, *tables.values())],
    }
    (out_dir / MARKER).write_text(json.dumps(marker, indent=2))
    return _result(out_dir, marker, skipped=False)

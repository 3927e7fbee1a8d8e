"""Media sources: what a benchmark is built from, found in one or more folders laid out like ``shared/media``.

Each folder may hold ``footage/`` (video files; a sub-folder is one source made of several takes),
``photos/``, ``music/`` and ``speech/`` (one utterance or talk per file). Missing sub-folders are fine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from avm.bench.compose import Clip, Excerpt, Sound, Visual, media_duration
from avm.errors import UserError

VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".mov")
PHOTO_EXTS = (".jpg", ".jpeg", ".png", ".webp")
AUDIO_EXTS = (".opus", ".ogg", ".mp3", ".flac", ".wav", ".m4a")


class NotEnoughMedia(UserError, ValueError):
    """The media folders cannot fill the requested benchmark under its uniqueness rules (the user adds media)."""


@dataclass(frozen=True)
class Sources:
    """Every visual and sound found (clip paths are absolute; names are unique across folders)."""

    footage: tuple[Visual, ...]
    photos: tuple[Visual, ...]
    music: tuple[Sound, ...]
    speech: tuple[Sound, ...]  # one per file

    @property
    def visuals(self) -> tuple[Visual, ...]:
        return self.footage + self.photos


def _files(folder: Path, exts: Sequence[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts)


def _clip(path: Path, kind: str) -> Clip:
    return Clip(path, 0.0, math.floor(media_duration(path, kind) * 100) / 100)


def _discover_one(root: Path, prefix: str) -> Sources:
    def name(path: Path) -> str:
        return prefix + str(path.relative_to(root))

    footage = [Visual(name(p), "footage", (_clip(p, "video"),)) for p in _files(root / "footage", VIDEO_EXTS)]
    takes_dirs = sorted(p for p in (root / "footage").glob("*") if p.is_dir()) if (root / "footage").is_dir() else []
    footage += [Visual(name(d), "footage", tuple(_clip(p, "video") for p in takes))
                for d in takes_dirs if (takes := _files(d, VIDEO_EXTS))]
    photos = [Visual(name(p), "photo", (Clip(p, 0.0, 0.0),)) for p in _files(root / "photos", PHOTO_EXTS)]
    music = [Sound(name(p), (_clip(p, "audio"),)) for p in _files(root / "music", AUDIO_EXTS)]
    speech = [Sound(name(p), (_clip(p, "audio"),)) for p in _files(root / "speech", AUDIO_EXTS)]
    return Sources(tuple(footage), tuple(photos), tuple(music), tuple(speech))


def discover_sources(media_dirs: Path | Sequence[Path]) -> Sources:
    """Probe every media folder; sources of the second and later folders are named ``<folder>:<path>``."""
    roots = [Path(media_dirs)] if isinstance(media_dirs, (str, Path)) else [Path(d) for d in media_dirs]
    found = [_discover_one(root.resolve(), "" if i == 0 else f"{root.name}:") for i, root in enumerate(roots)]
    return Sources(*(tuple(item for s in found for item in getattr(s, field)) for field in
                     ("footage", "photos", "music", "speech")))


def join_sounds(parts: Sequence[Sound]) -> Sound:
    """Several sounds played in turn, as one sound."""
    if len(parts) == 1:
        return parts[0]
    return Sound(f"{parts[0].name}+{len(parts) - 1}", tuple(c for s in parts for c in s.clips))


def group_sounds(sounds: Sequence[Sound], seconds: float) -> list[Sound]:
    """Join consecutive ``sounds`` into groups lasting at least ``seconds`` (the remainder joins the last)."""
    groups: list[list[Sound]] = [[]]
    for sound in sounds:
        if sum(s.length for s in groups[-1]) >= seconds:
            groups.append([])
        groups[-1].append(sound)
    return [join_sounds(g) for g in groups if g]


class SoundCursor:
    """Hands out non-overlapping excerpts of reusable sounds, taking each request from the next sound in turn.

    Used for query filler and cover audio, which is never in the catalog and may repeat across queries.
    """

    def __init__(self, sounds: Sequence[Sound]):
        if not sounds:
            raise NotEnoughMedia("no sound is left for query fillers")
        self.sounds, self.index = list(sounds), 0
        self.offsets = [0.0] * len(self.sounds)

    def take(self, seconds: int) -> Excerpt:
        for _ in range(2 * len(self.sounds)):
            i = self.index
            self.index = (i + 1) % len(self.sounds)
            if self.offsets[i] + seconds <= self.sounds[i].length:
                self.offsets[i] += seconds
                return Excerpt(self.sounds[i], self.offsets[i] - seconds, seconds)
            if self.offsets[i] > 0:  # used up: start it over for the next round
                self.offsets[i] = 0.0
        longest = max(self.sounds, key=lambda s: s.length)
        return Excerpt(longest, 0.0, seconds)  # every sound is shorter: padded with silence

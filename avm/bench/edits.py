"""Pirate edits: small named transforms applied to a borrowed segment before it is spliced into a query.

An :class:`EditKind` knows how to sample its parameters from a seeded ``random.Random`` and how to apply
them as ffmpeg-python filters to the video and/or audio stream; some also ask for a lossy re-encode of the
segment (an :class:`~avm.bench.compose.Encoding`). A sampled :class:`Edit` is plain data (name + params), so
plans stay printable and comparable. New edits are added by registering one more ``EditKind`` in ``EDITS``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avm.bench.compose import AV, Canvas, Encoding, Stream, cut, materialise, normalise

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Edit:
    """One applied edit: its kind's name and sampled parameters."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.params)

    def label(self) -> str:
        """Compact text form, e.g. ``volume(db=-4)``."""
        return f"{self.name}({','.join(f'{k}={v}' for k, v in self.params)})"


@dataclass(frozen=True)
class EditKind:
    """How to sample and apply one kind of edit."""

    name: str
    sample: Callable[[random.Random], dict[str, Any]]
    video: Callable[[Stream, Params, Canvas], Stream] | None = None
    audio: Callable[[Stream, Params], Stream] | None = None
    encoding: Callable[[Params], Encoding] | None = None  # set when the edit is a lossy re-encode


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


# --- crop: cut 5-10 % off the frame (anywhere), then scale back up to the canvas ---------------------------

def _sample_crop(rng: random.Random) -> dict[str, Any]:
    return {"frac": round(rng.uniform(0.05, 0.10), 3), "x": round(rng.random(), 2), "y": round(rng.random(), 2)}


def _crop(video: Stream, p: Params, canvas: Canvas) -> Stream:
    keep = 1.0 - p["frac"]
    return (video.filter("crop", f"iw*{keep}", f"ih*{keep}", f"(iw-ow)*{p['x']}", f"(ih-oh)*{p['y']}")
            .filter("scale", canvas.width, canvas.height).filter("setsar", 1))


# --- letterbox: shrink the picture vertically and add black bars top and bottom ---------------------------

def _sample_letterbox(rng: random.Random) -> dict[str, Any]:
    return {"bars": round(rng.uniform(0.06, 0.14), 3)}  # fraction of the height taken by both bars


def _letterbox(video: Stream, p: Params, canvas: Canvas) -> Stream:
    inner = _even(canvas.height * (1.0 - p["bars"]))
    return (video.filter("scale", canvas.width, inner).filter("setsar", 1)
            .filter("pad", canvas.width, canvas.height, 0, (canvas.height - inner) // 2, color="black"))


# --- colour: gamma and saturation -------------------------------------------------------------------------

def _sample_color(rng: random.Random) -> dict[str, Any]:
    return {"gamma": round(rng.uniform(0.75, 1.35), 2), "saturation": round(rng.uniform(0.6, 1.5), 2)}


def _color(video: Stream, p: Params, canvas: Canvas) -> Stream:
    return video.filter("eq", gamma=p["gamma"], saturation=p["saturation"])


# --- blur: mild gaussian blur ------------------------------------------------------------------------------

def _sample_blur(rng: random.Random) -> dict[str, Any]:
    return {"sigma": round(rng.uniform(0.8, 2.0), 2)}


def _blur(video: Stream, p: Params, canvas: Canvas) -> Stream:
    return video.filter("gblur", sigma=p["sigma"])


# --- volume: +-3..6 dB -------------------------------------------------------------------------------------

def _sample_volume(rng: random.Random) -> dict[str, Any]:
    return {"db": rng.choice((-1, 1)) * rng.randint(3, 6)}


def _volume(audio: Stream, p: Params) -> Stream:
    return audio.filter("volume", f"{p['db']}dB")


# --- reencode: low resolution, high crf, low audio bitrate -------------------------------------------------

def _sample_reencode(rng: random.Random) -> dict[str, Any]:
    return {"width": rng.choice((320, 384)), "crf": rng.randint(30, 34), "audio_kbps": rng.choice((48, 64))}


def _reencode_scale(video: Stream, p: Params, canvas: Canvas) -> Stream:
    return video.filter("scale", p["width"], -2).filter("setsar", 1)


def _reencode_encoding(p: Params) -> Encoding:
    return Encoding(crf=p["crf"], preset="veryfast", audio_bitrate=f"{p['audio_kbps']}k")


# Registry, in the order edits are applied (geometry, colour, blur, audio, then the lossy re-encode last).
EDITS: dict[str, EditKind] = {kind.name: kind for kind in (
    EditKind("crop", _sample_crop, video=_crop),
    EditKind("letterbox", _sample_letterbox, video=_letterbox),
    EditKind("color", _sample_color, video=_color),
    EditKind("blur", _sample_blur, video=_blur),
    EditKind("volume", _sample_volume, audio=_volume),
    EditKind("reencode", _sample_reencode, video=_reencode_scale, encoding=_reencode_encoding),
)}


def make_edit(name: str, rng: random.Random) -> Edit:
    """Sample the parameters of the edit kind ``name``."""
    return Edit(name, tuple(sorted(EDITS[name].sample(rng).items())))


def sample_edits(rng: random.Random, min_edits: int = 1, max_edits: int = 3,
                 names: Sequence[str] | None = None) -> tuple[Edit, ...]:
    """Draw ``min_edits..max_edits`` distinct edits (from ``names``, default all), in application order."""
    pool = list(names or EDITS)
    chosen = set(rng.sample(pool, rng.randint(min_edits, min(max_edits, len(pool)))))
    return tuple(make_edit(name, rng) for name in EDITS if name in chosen)


def apply_edits(video: Stream, audio: Stream, edits: Sequence[Edit], canvas: Canvas) -> tuple[Stream, Stream]:
    """Apply the filters of ``edits`` in order; the re-encode itself is left to the caller (see ``encoding_of``)."""
    for edit in edits:
        kind = EDITS[edit.name]
        if kind.video is not None:
            video = kind.video(video, edit.args, canvas)
        if kind.audio is not None:
            audio = kind.audio(audio, edit.args)
    return video, audio


def encoding_of(edits: Sequence[Edit]) -> Encoding | None:
    """The lossy encoding some edit asks the segment to go through, if any (the last one wins)."""
    found = None
    for edit in edits:
        kind = EDITS[edit.name]
        if kind.encoding is not None:
            found = kind.encoding(edit.args)
    return found


def edited_segment(path: Path, start: float, duration: float, edits: Sequence[Edit], canvas: Canvas,
                   work_path: Path) -> AV:
    """``duration`` s of ``path`` from ``start`` with ``edits`` applied, normalised to the canvas.

    When an edit asks for a lossy re-encode, the edited segment is encoded to ``work_path`` and read back.
    """
    video, audio = apply_edits(*cut(path, start, duration), edits, canvas)
    encoding = encoding_of(edits)
    if encoding is not None:
        video, audio = materialise(video, audio, work_path, canvas, encoding, duration)
    return normalise(video, audio, canvas, duration)

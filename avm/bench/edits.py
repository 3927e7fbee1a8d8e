"""Pirate edits: named transforms applied to a borrowed segment before it is spliced into a query.

An :class:`EditKind` knows how to sample its parameters from a seeded ``random.Random`` (numeric ones within
named ranges: its defaults in ``ranges``, which a preset may override per kind and parameter) and how to apply
them as ffmpeg-python filters to the video and/or audio stream of the segment; some also ask for a lossy
generation of the segment (overrides of an :class:`~avm.bench.compose.Encoding`), change its tempo, replace
a whole stream, or need other media (a *cover*: picture and sound that is not in the catalog; a *voice*:
speech). A sampled :class:`Edit` is plain data (name + params), so plans stay printable and comparable. New
edits are added by registering one more ``EditKind`` in ``EDITS``; the registry order is the order in which
edits are applied.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ffmpeg

from avm.bench.compose import (
    AV,
    Canvas,
    Encoding,
    Stream,
    cut,
    fit_audio,
    hold_audio,
    materialise,
    measure_rms,
    normalise,
)

Params = Mapping[str, Any]
Range = tuple[float, float]
Ranges = Mapping[str, Range]  # parameter name -> inclusive (low, high) it is drawn from
AUDIO, VIDEO = "audio", "video"
BOTH = frozenset({AUDIO, VIDEO})
EVIDENCE = {AUDIO: "audio", VIDEO: "visual"}  # stream -> evidence label when only that stream is left


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
class EditContext:
    """What an edit may use besides its own stream: the canvas, the segment's lengths and other media.

    ``seconds`` is the segment's length in the query (after any tempo change). ``signal`` returns the copied
    audio as cut from the reference (to set mixing levels); ``cover`` other picture and sound, and ``voice``
    speech, both normalised and ``seconds`` long (each call gives fresh streams); ``cover_still`` one frame
    of the cover's picture.
    """

    canvas: Canvas
    seconds: float
    signal: Callable[[], Stream]
    cover: Callable[[], AV] | None = None
    cover_still: Callable[[], Stream] | None = None
    voice: Callable[[], Stream] | None = None


VideoFilter = Callable[[Stream, Params, EditContext], Stream]
AudioFilter = Callable[[Stream, Params, EditContext], Stream]


@dataclass(frozen=True)
class EditKind:
    """How to sample and apply one kind of edit.

    ``streams``: the streams it changes. ``replaces``: the stream it swaps for other media (the copied
    content then survives only in the other stream). ``lossy``: Encoding field overrides of a lossy
    generation. ``tempo``: the playback-speed factor it applies. ``needs``: other media it uses ("cover",
    "voice"). ``hard``: known to defeat simple fingerprints. ``excludes``: kinds it is never combined with.
    ``min_seconds``: the shortest segment it is applied to. ``ranges``: the default inclusive ``(low, high)``
    range of each numeric parameter ``sample`` draws (magnitudes where the sign is drawn apart, e.g. speed's
    ``change``; whole numbers for integer parameters), overridable per preset (see :func:`ranges_of`).
    """

    name: str
    sample: Callable[[random.Random, Ranges], dict[str, Any]]
    streams: frozenset[str]
    video: VideoFilter | None = None
    audio: AudioFilter | None = None
    lossy: Callable[[Params], dict[str, Any]] | None = None
    tempo: Callable[[Params], float] | None = None
    replaces: str | None = None
    needs: tuple[str, ...] = ()
    hard: bool = False
    excludes: tuple[str, ...] = ()
    min_seconds: int = 0
    ranges: Mapping[str, Range] = field(default_factory=dict)


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _sign(rng: random.Random) -> int:
    return rng.choice((-1, 1))


def _mix(audio: Stream, other: Stream, snr_db: float, ctx: EditContext) -> Stream:
    """``audio`` with ``other`` mixed under it, ``snr_db`` dB below the level of the copied audio."""
    signal, level = measure_rms(ctx.signal()), measure_rms(other)
    gain = signal / max(level, 1e-6) * 10 ** (-snr_db / 20) if signal > 1e-6 else 0.0
    return ffmpeg.filter([audio, other.filter("volume", f"{gain:.6f}")], "amix", inputs=2, duration="first",
                         normalize=0)


def _randint(rng: random.Random, span: Range, step: int = 1) -> int:
    """A whole number of ``span`` (inclusive) on a grid of ``step`` from its low end."""
    return rng.randrange(int(span[0]), int(span[1]) + 1, step)


# --- speed (both streams): faster or slower by 3-10 %, pitch follows (tape-style resampling) ---------------

SPEED_RANGE = (0.03, 0.10)


def _sample_speed(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"factor": round(1 + _sign(rng) * rng.uniform(*r["change"]), 6)}


def _speed_video(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return video.filter("setpts", f"(PTS-STARTPTS)/{p['factor']}")


def _speed_audio(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    rate = ctx.canvas.sample_rate
    return audio.filter("aresample", rate).filter("asetrate", round(rate * p["factor"])).filter("aresample", rate)


def snap_tempo(ref_seconds: int, factor: float, limits: tuple[float, float] = SPEED_RANGE) -> int | None:
    """Whole query seconds closest to ``ref_seconds / factor`` whose exact ratio keeps |ratio - 1| in ``limits``.

    The chosen ratio ``ref_seconds / query_seconds`` is then the exact speed factor, so both ends of the
    ground truth stay whole seconds. None when ``ref_seconds`` is too short for any such ratio.
    """
    low, high = limits
    faster = factor > 1
    span = range(max(1, math.floor(ref_seconds / (1 + high))), math.ceil(ref_seconds / (1 - high)) + 1)
    candidates = [q for q in span
                  if low - 1e-9 <= abs(ref_seconds / q - 1) <= high + 1e-9 and (ref_seconds / q > 1) == faster]
    return min(candidates, key=lambda q: abs(ref_seconds / q - factor)) if candidates else None


# --- whole-stream replacement: copied picture with a new soundtrack, copied sound with a new picture -------

def _new_video(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return _cover(ctx)[0]


def _new_audio(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    return _cover(ctx)[1]


def _cover(ctx: EditContext) -> AV:
    if ctx.cover is None:
        raise ValueError("this edit needs cover media")
    return ctx.cover()


# --- crop: cut 5-25 % off the width and height (anywhere), then scale back up to the canvas ----------------

def _sample_crop(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"frac": round(rng.uniform(*r["frac"]), 3), "x": round(rng.random(), 2), "y": round(rng.random(), 2)}


def _crop(video: Stream, p: Params, ctx: EditContext) -> Stream:
    keep = 1.0 - p["frac"]
    return (video.filter("crop", f"iw*{keep}", f"ih*{keep}", f"(iw-ow)*{p['x']}", f"(ih-oh)*{p['y']}")
            .filter("scale", ctx.canvas.width, ctx.canvas.height).filter("setsar", 1))


# --- hflip: mirror image ------------------------------------------------------------------------------------

def _hflip(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return video.filter("hflip")


# --- letterbox / pillarbox: squeeze the picture and add black bars (top+bottom / left+right) ---------------

def _sample_bars(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"bars": round(rng.uniform(*r["bars"]), 3)}  # fraction of the height (width) taken by both bars


def _letterbox(video: Stream, p: Params, ctx: EditContext) -> Stream:
    width, height = ctx.canvas.width, ctx.canvas.height
    inner = _even(height * (1.0 - p["bars"]))
    return (video.filter("scale", width, inner).filter("setsar", 1)
            .filter("pad", width, height, 0, (height - inner) // 2, color="black"))


def _pillarbox(video: Stream, p: Params, ctx: EditContext) -> Stream:
    width, height = ctx.canvas.width, ctx.canvas.height
    inner = _even(width * (1.0 - p["bars"]))
    return (video.filter("scale", inner, height).filter("setsar", 1)
            .filter("pad", width, height, (width - inner) // 2, 0, color="black"))


# --- colour: gamma, saturation and contrast -----------------------------------------------------------------

def _sample_color(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"contrast": round(rng.uniform(*r["contrast"]), 2), "gamma": round(rng.uniform(*r["gamma"]), 2),
            "saturation": round(rng.uniform(*r["saturation"]), 2)}


def _color(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return video.filter("eq", contrast=p["contrast"], gamma=p["gamma"], saturation=p["saturation"])


# --- blur: gaussian blur ------------------------------------------------------------------------------------

def _sample_blur(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"sigma": round(rng.uniform(*r["sigma"]), 2)}


def _blur(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return video.filter("gblur", sigma=p["sigma"])


# --- pip: the copied picture shrunk (side 0.64-0.85: >= 40 % of the frame area) over other footage ----------

def _sample_pip(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"size": round(rng.uniform(*r["size"]), 2), "x": round(rng.random(), 2), "y": round(rng.random(), 2)}


def _pip(video: Stream, p: Params, ctx: EditContext) -> Stream:
    width, height = _even(ctx.canvas.width * p["size"]), _even(ctx.canvas.height * p["size"])
    inset = video.filter("setpts", "PTS-STARTPTS").filter("scale", width, height).filter("setsar", 1)
    x, y = round((ctx.canvas.width - width) * p["x"]), round((ctx.canvas.height - height) * p["y"])
    return ffmpeg.overlay(_cover(ctx)[0], inset, x=x, y=y, eof_action="repeat")


# --- logo: a small semi-transparent picture in a corner -----------------------------------------------------

CORNERS = {"tl": (0, 0), "tr": (1, 0), "bl": (0, 1), "br": (1, 1)}


def _sample_logo(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"corner": rng.choice(sorted(CORNERS)), "opacity": round(rng.uniform(*r["opacity"]), 2),
            "size": round(rng.uniform(*r["size"]), 2)}


def overlay_logo(video: Stream, still: Stream, corner: str, opacity: float, size: float, canvas: Canvas) -> Stream:
    """``still`` scaled to ``size`` of the canvas width, ``opacity`` opaque, over ``video`` in ``corner``."""
    width = _even(canvas.width * size)
    margin = _even(canvas.width * 0.03)
    badge = (still.filter("scale", width, -2).filter("setsar", 1).filter("format", "rgba")
             .filter("colorchannelmixer", aa=opacity))
    cx, cy = CORNERS[corner]
    x = f"main_w-overlay_w-{margin}" if cx else str(margin)
    y = f"main_h-overlay_h-{margin}" if cy else str(margin)
    return ffmpeg.overlay(video, badge, x=x, y=y, eof_action="repeat", format="auto")


def _logo(video: Stream, p: Params, ctx: EditContext) -> Stream:
    if ctx.cover_still is None:
        raise ValueError("logo needs a cover picture")
    return overlay_logo(video, ctx.cover_still(), p["corner"], p["opacity"], p["size"], ctx.canvas)


# --- text: a caption or scrolling ticker --------------------------------------------------------------------

MESSAGES = ("FULL MATCH HD", "LIVE NOW", "subscribe for more", "watch free at streamz dot tv",
            "EXCLUSIVE CLIP", "best moments 2026")


def _sample_text(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"msg": rng.randrange(len(MESSAGES)), "pos": rng.choice(("top", "bottom")),
            "scroll": rng.randint(0, 1), "size": round(rng.uniform(*r["size"]), 3)}


def _text(video: Stream, p: Params, ctx: EditContext) -> Stream:
    """drawtext; its expressions avoid commas, which ffmpeg-python does not escape for a filter graph."""
    size = max(8, round(ctx.canvas.height * p["size"]))
    step = f"t*{ctx.canvas.width // 6}"  # a ticker moving right to left, wrapping round
    x = f"w-({step}-floor({step}/(w+tw))*(w+tw))" if p["scroll"] else "(w-tw)/2"
    y = f"{size // 2}" if p["pos"] == "top" else f"h-th-{size // 2}"
    return video.filter("drawtext", text=MESSAGES[p["msg"]], fontsize=size, fontcolor="white", x=x, y=y,
                        box=1, boxcolor="black@0.5", boxborderw=size // 4)


# --- fps: frame-rate change (frames dropped, then repeated back to the canvas rate) -------------------------

def _sample_fps(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"rate": rng.choice((8, 10, 12, 15))}


def _fps(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return video.filter("fps", p["rate"])


# --- pitch: +-1..2 semitones with the tempo kept (rubberband) -----------------------------------------------

def _sample_pitch(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"semitones": round(_sign(rng) * rng.uniform(*r["semitones"]), 2)}


def _pitch(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    return (audio.filter("aresample", ctx.canvas.sample_rate)
            .filter("rubberband", pitch=round(2 ** (p["semitones"] / 12), 6), tempo=1))


# --- noise: other music, or white/pink/brown noise, mixed in at 0-20 dB SNR ---------------------------------

NOISES = ("music", "white", "pink", "brown")


def _sample_noise(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"snr_db": round(rng.uniform(*r["snr_db"]), 1), "source": rng.choice(NOISES)}


def _noise(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    if p["source"] == "music":
        other = _cover(ctx)[1]
    else:
        other = ffmpeg.input(f"anoisesrc=color={p['source']}:amplitude=0.5:seed=1:sample_rate="
                             f"{ctx.canvas.sample_rate}", f="lavfi", t=ctx.seconds).audio
        other = hold_audio(fit_audio(other, ctx.canvas), ctx.seconds)
    return _mix(audio, other, p["snr_db"], ctx)


# --- speech_over: someone talking over the copied audio (SNR 0-12 dB: the copy stays at least as loud) -----

def _sample_speech(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"snr_db": round(rng.uniform(*r["snr_db"]), 1)}


def _speech_over(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    if ctx.voice is None:
        raise ValueError("speech_over needs a voice")
    return _mix(audio, ctx.voice(), p["snr_db"], ctx)


# --- bandpass: telephone-like EQ (mono, 250-400 Hz .. 2.8-3.6 kHz) -----------------------------------------

def _sample_bandpass(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"high": _randint(rng, r["high"], 100), "low": _randint(rng, r["low"], 50)}


def _bandpass(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    return (audio.filter("aformat", channel_layouts="mono")
            .filter("highpass", f=p["low"], poles=2).filter("highpass", f=p["low"], poles=2)
            .filter("lowpass", f=p["high"], poles=2).filter("lowpass", f=p["high"], poles=2))


# --- reverb: a room made of three decaying echoes -----------------------------------------------------------

def _sample_reverb(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"decay": round(rng.uniform(*r["decay"]), 2), "delay_ms": _randint(rng, r["delay_ms"])}


def _reverb(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    delays = "|".join(str(round(p["delay_ms"] * k)) for k in (1.0, 2.3, 3.7))
    decays = "|".join(f"{p['decay'] ** k:.3f}" for k in (1, 2, 3))
    return audio.filter("aecho", 0.8, 0.8, delays, decays)


# --- volume: +-3..10 dB -------------------------------------------------------------------------------------

def _sample_volume(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"db": _sign(rng) * _randint(rng, r["db"])}


def _volume(audio: Stream, p: Params, ctx: EditContext) -> Stream:
    return audio.filter("volume", f"{p['db']}dB")


# --- aencode: a low-bitrate audio generation (AAC, MP3 or Opus at 32-64 kb/s) -------------------------------

def _sample_aencode(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"codec": rng.choice(("aac", "mp3", "opus")), "kbps": rng.choice((32, 40, 48, 56, 64))}


def _aencode(p: Params) -> dict[str, Any]:
    return {"audio_codec": p["codec"], "audio_bitrate": f"{p['kbps']}k"}


# --- reencode: low resolution and a high crf -----------------------------------------------------------------

def _sample_reencode(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {"crf": _randint(rng, r["crf"]), "width": rng.choice((256, 320, 384))}


def _reencode_scale(video: Stream, p: Params, ctx: EditContext) -> Stream:
    return video.filter("scale", p["width"], -2).filter("setsar", 1)


def _reencode(p: Params) -> dict[str, Any]:
    return {"crf": p["crf"]}


def _none(rng: random.Random, r: Ranges) -> dict[str, Any]:
    return {}


_A, _V = frozenset({AUDIO}), frozenset({VIDEO})

# Registry, in the order edits are applied: tempo, stream swaps, picture geometry, picture overlays, frame
# rate, then sound (mixes before levels, so that SNRs refer to the copied audio), and the lossy generation.
EDITS: dict[str, EditKind] = {kind.name: kind for kind in (
    EditKind("speed", _sample_speed, BOTH, video=_speed_video, audio=_speed_audio, tempo=lambda p: p["factor"],
             hard=True, min_seconds=12, ranges={"change": SPEED_RANGE}),
    EditKind("new_video", _none, _V, video=_new_video, replaces=VIDEO, needs=("cover",), hard=True),
    EditKind("new_audio", _none, _A, audio=_new_audio, replaces=AUDIO, needs=("cover",), hard=True),
    EditKind("crop", _sample_crop, _V, video=_crop, ranges={"frac": (0.05, 0.25)}),
    EditKind("hflip", _none, _V, video=_hflip, hard=True),
    EditKind("letterbox", _sample_bars, _V, video=_letterbox, excludes=("pillarbox",), ranges={"bars": (0.10, 0.25)}),
    EditKind("pillarbox", _sample_bars, _V, video=_pillarbox, excludes=("letterbox",), ranges={"bars": (0.10, 0.25)}),
    EditKind("color", _sample_color, _V, video=_color,
             ranges={"contrast": (0.8, 1.25), "gamma": (0.7, 1.4), "saturation": (0.5, 1.6)}),
    EditKind("blur", _sample_blur, _V, video=_blur, ranges={"sigma": (0.8, 3.0)}),
    EditKind("pip", _sample_pip, _V, video=_pip, needs=("cover",), hard=True, ranges={"size": (0.64, 0.85)}),
    EditKind("logo", _sample_logo, _V, video=_logo, needs=("cover",),
             ranges={"opacity": (0.6, 0.95), "size": (0.10, 0.20)}),
    EditKind("text", _sample_text, _V, video=_text, ranges={"size": (0.05, 0.10)}),
    EditKind("fps", _sample_fps, _V, video=_fps),
    EditKind("pitch", _sample_pitch, _A, audio=_pitch, hard=True, ranges={"semitones": (1.0, 2.0)}),
    EditKind("noise", _sample_noise, _A, audio=_noise, needs=("cover",), ranges={"snr_db": (0.0, 20.0)}),
    EditKind("speech_over", _sample_speech, _A, audio=_speech_over, needs=("voice",), ranges={"snr_db": (0.0, 12.0)}),
    EditKind("bandpass", _sample_bandpass, _A, audio=_bandpass, ranges={"high": (2800, 3600), "low": (250, 400)}),
    EditKind("reverb", _sample_reverb, _A, audio=_reverb, ranges={"decay": (0.3, 0.6), "delay_ms": (30, 90)}),
    EditKind("volume", _sample_volume, _A, audio=_volume, ranges={"db": (3, 10)}),
    EditKind("aencode", _sample_aencode, _A, lossy=_aencode),
    EditKind("reencode", _sample_reencode, _V, video=_reencode_scale, lossy=_reencode, ranges={"crf": (30, 36)}),
)}

HARD_EDITS = tuple(name for name, kind in EDITS.items() if kind.hard)


def compatible(a: str, b: str) -> bool:
    """Whether edits ``a`` and ``b`` may be applied to the same segment."""
    ka, kb = EDITS[a], EDITS[b]
    if a == b or b in ka.excludes or a in kb.excludes or (ka.replaces and kb.replaces):
        return False
    return not ((ka.replaces and kb.streams == {ka.replaces}) or (kb.replaces and ka.streams == {kb.replaces}))


RangeOverrides = Mapping[str, Mapping[str, Sequence[float]]]  # kind -> parameter -> [low, high]


def ranges_of(name: str, overrides: Mapping[str, Sequence[float]] | None = None) -> dict[str, Range]:
    """The parameter ranges of edit kind ``name``: its defaults with ``overrides`` (parameter -> [low, high])."""
    kind = EDITS[name]
    ranges = dict(kind.ranges)
    for param, span in (overrides or {}).items():
        if param not in kind.ranges:
            raise ValueError(f"edit {name!r} has no parameter range {param!r}; it has {sorted(kind.ranges) or 'none'}")
        low, high = (float(v) for v in span)  # raises when not two numbers
        if not low <= high:
            raise ValueError(f"edit range {name}.{param} must be [low, high] with low <= high, got {list(span)}")
        ranges[param] = (low, high)
    return ranges


def check_ranges(overrides: RangeOverrides) -> dict[str, dict[str, Range]]:
    """Every kind's ranges with ``overrides`` (kind -> parameter -> [low, high]) applied; errors name bad keys."""
    unknown = sorted(set(overrides) - set(EDITS))
    if unknown:
        raise ValueError(f"edit ranges for unknown edit kinds {unknown}; kinds: {list(EDITS)}")
    return {name: ranges_of(name, overrides.get(name)) for name in EDITS}


def make_edit(name: str, rng: random.Random, ranges: Mapping[str, Sequence[float]] | None = None) -> Edit:
    """Sample the parameters of the edit kind ``name`` (within its default ranges, or ``ranges`` overriding them)."""
    return Edit(name, tuple(sorted(EDITS[name].sample(rng, ranges_of(name, ranges)).items())))


def in_order(edits: Sequence[Edit]) -> tuple[Edit, ...]:
    """``edits`` sorted into application (registry) order."""
    order = list(EDITS)
    return tuple(sorted(edits, key=lambda e: order.index(e.name)))


def sample_edits(rng: random.Random, min_edits: int = 1, max_edits: int = 3, names: Sequence[str] | None = None,
                 ranges: RangeOverrides | None = None) -> tuple[Edit, ...]:
    """Draw ``min_edits..max_edits`` compatible edits (from ``names``, default all), in application order.

    ``ranges``: parameter ranges overriding the kinds' defaults (kind -> parameter -> [low, high]).
    """
    pool = list(names or EDITS)
    count, chosen = rng.randint(min_edits, max_edits), []
    for name in rng.sample(pool, len(pool)):
        if len(chosen) < count and all(compatible(name, c) for c in chosen):
            chosen.append(name)
    return in_order([make_edit(name, rng, (ranges or {}).get(name)) for name in chosen])


def evidence_of(edits: Sequence[Edit]) -> str:
    """Which modalities still carry the copied content: "both", "audio" or "visual"."""
    left = {AUDIO, VIDEO} - {EDITS[e.name].replaces for e in edits}
    return "both" if len(left) == 2 else EVIDENCE[next(iter(left))]


def tempo_of(edits: Sequence[Edit]) -> float:
    """The playback-speed factor of ``edits`` (1 when none changes the tempo)."""
    return math.prod(EDITS[e.name].tempo(e.args) for e in edits if EDITS[e.name].tempo is not None)


def needs_of(edits: Sequence[Edit]) -> set[str]:
    """Other media ``edits`` use ("cover", "voice")."""
    return {need for e in edits for need in EDITS[e.name].needs}


def apply_edits(video: Stream, audio: Stream, edits: Sequence[Edit], ctx: EditContext) -> tuple[Stream, Stream]:
    """Apply the filters of ``edits`` in order; the lossy generation is left to the caller (see ``encoding_of``)."""
    for edit in edits:
        kind = EDITS[edit.name]
        if kind.video is not None:
            video = kind.video(video, edit.args, ctx)
        if kind.audio is not None:
            audio = kind.audio(audio, edit.args, ctx)
    return video, audio


# A generation that changes nothing visible or audible: the base that lossy edits override.
TRANSPARENT = Encoding(crf=18, preset="veryfast", audio_bitrate="192k", audio_codec="aac")


def encoding_of(edits: Sequence[Edit]) -> Encoding | None:
    """The lossy generation ``edits`` ask the segment to go through (their overrides merged), if any."""
    overrides = [EDITS[e.name].lossy(e.args) for e in edits if EDITS[e.name].lossy is not None]
    if not overrides:
        return None
    return replace(TRANSPARENT, **{k: v for o in overrides for k, v in o.items()})


def edited_segment(path: Path, start: float, duration: float, edits: Sequence[Edit], canvas: Canvas,
                   work_path: Path, ctx: EditContext | None = None) -> AV:
    """``duration`` s of ``path`` from ``start`` with ``edits`` applied, normalised to the canvas.

    The result lasts ``ctx.seconds`` (``duration`` unless a tempo edit changes it). When an edit asks for a
    lossy generation, the edited segment is encoded to ``work_path`` (any container ffmpeg knows by its
    suffix) and read back.
    """
    ctx = ctx or EditContext(canvas, duration, signal=lambda: cut(path, start, duration)[1])
    video, audio = apply_edits(*cut(path, start, duration), edits, ctx)
    encoding = encoding_of(edits)
    if encoding is not None:
        video, audio = materialise(video, audio, work_path, canvas, encoding, ctx.seconds)
    return normalise(video, audio, canvas, ctx.seconds)

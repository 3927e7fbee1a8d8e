"""Composition helpers: turn media files into normalised ffmpeg-python streams, join them and encode.

Every helper returns ffmpeg-python stream nodes; nothing runs until :func:`encode`. All pieces are brought
to one :class:`Canvas` (size, frame rate, sample rate, channel layout) and to an exact whole duration, so
that they can be joined with the ``concat`` filter without drift.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import ffmpeg

from avm.media.errors import MediaError
from avm.media.tools import ffmpeg_exe

Stream = Any  # an ffmpeg-python stream node (ffmpeg.nodes.FilterableStream)
AV = tuple[Stream, Stream]  # (video, audio)

_EPS = 1e-3


@dataclass(frozen=True)
class Canvas:
    """The common format every piece is normalised to."""

    width: int = 640
    height: int = 360
    fps: int = 25
    sample_rate: int = 44100
    channel_layout: str = "stereo"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Encoding:
    """H.264 + AAC encoder settings of one output file."""

    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "128k"


@dataclass(frozen=True)
class Clip:
    """A span of one media file: ``duration`` seconds from ``start``."""

    path: Path
    start: float
    duration: float


def media_duration(path: Path, kind: str | None = None) -> float:
    """Seconds of ``path``: of its first ``kind`` ("video"/"audio") stream when given, else of the container."""
    with av.open(str(path)) as container:
        streams = [s for s in container.streams if kind is None or s.type == kind]
        if kind is not None and streams and streams[0].duration and streams[0].time_base:
            return float(streams[0].duration * streams[0].time_base)
        if container.duration:
            return container.duration / av.time_base
    raise MediaError(f"cannot read the duration of {path}")


def window(clips: Sequence[Clip], start: float, duration: float, cycle: bool = False) -> list[Clip]:
    """The spans covering ``[start, start + duration)`` of the timeline made by playing ``clips`` in order.

    With ``cycle`` the timeline repeats; without it the result stops where the timeline ends.
    """
    total = sum(c.duration for c in clips)
    if total <= _EPS:
        raise ValueError("empty timeline")
    if cycle:
        start %= total
    spans: list[Clip] = []
    position, index, left = 0.0, 0, duration
    while left > _EPS and (cycle or index < len(clips)):
        clip = clips[index % len(clips)]
        offset = max(0.0, start - position)
        if offset < clip.duration - _EPS:
            take = min(clip.duration - offset, left)
            spans.append(Clip(clip.path, clip.start + offset, take))
            left -= take
        position += clip.duration
        index += 1
    return spans


def fit_video(video: Stream, canvas: Canvas) -> Stream:
    """Scale to cover the canvas, crop the overflow, and set square pixels, frame rate and pixel format."""
    return (video.filter("scale", canvas.width, canvas.height, force_original_aspect_ratio="increase")
            .filter("crop", canvas.width, canvas.height)
            .filter("setsar", 1)
            .filter("fps", canvas.fps)
            .filter("format", "yuv420p"))


def fit_audio(audio: Stream, canvas: Canvas) -> Stream:
    """Resample to the canvas rate and channel layout."""
    return (audio.filter("aresample", canvas.sample_rate)
            .filter("aformat", sample_fmts="fltp", sample_rates=canvas.sample_rate,
                    channel_layouts=canvas.channel_layout))


def hold_video(video: Stream, duration: float) -> Stream:
    """Exactly ``duration`` seconds of ``video`` from t=0: the last frame is repeated when it runs short."""
    return (video.filter("setpts", "PTS-STARTPTS")
            .filter("tpad", stop_mode="clone", stop_duration=duration)
            .filter("trim", duration=duration)
            .filter("setpts", "PTS-STARTPTS"))


def hold_audio(audio: Stream, duration: float) -> Stream:
    """Exactly ``duration`` seconds of ``audio`` from t=0: silence is added when it runs short."""
    return (audio.filter("asetpts", "PTS-STARTPTS")
            .filter("apad", whole_dur=duration)
            .filter("atrim", duration=duration)
            .filter("asetpts", "PTS-STARTPTS"))


def normalise(video: Stream, audio: Stream, canvas: Canvas, duration: float) -> AV:
    """Bring a piece to the canvas format and to exactly ``duration`` seconds."""
    return hold_video(fit_video(video, canvas), duration), hold_audio(fit_audio(audio, canvas), duration)


_input_tags = itertools.count()


def open_span(path: Path, start: float = 0.0, duration: float | None = None) -> Stream:
    """An ffmpeg input reading ``duration`` s of ``path`` from ``start`` (accurate seek).

    ffmpeg-python merges nodes with equal arguments, so a span used twice in one graph would become one
    input with two consumers; a distinct ``thread_queue_size`` (a harmless demuxer queue size) keeps every
    call its own input.
    """
    options: dict[str, Any] = {"thread_queue_size": 64 + next(_input_tags) % 1024}
    if start:
        options["ss"] = start
    if duration is not None:
        options["t"] = duration
    return ffmpeg.input(str(path), **options)


def cut(path: Path, start: float, duration: float) -> AV:
    """The video and audio of ``path`` between ``start`` and ``start + duration``."""
    source = open_span(path, start, duration)
    return source.video, source.audio


def _join(streams: Sequence[Stream], video: bool) -> Stream:
    if len(streams) == 1:
        return streams[0]
    return ffmpeg.concat(*streams, v=int(video), a=int(not video))


def footage_video(clips: Sequence[Clip], duration: float, canvas: Canvas, speed: float = 1.0) -> Stream:
    """Play ``clips`` back to back at ``speed`` (below 1 slows down), fitted to the canvas, for ``duration`` s.

    The clips are cut exactly as given (use :func:`window` to loop or offset them).
    """
    parts = []
    for clip in clips:
        video = open_span(clip.path, clip.start, clip.duration).video
        video = video.filter("setpts", f"(PTS-STARTPTS)/{speed:.6f}")
        parts.append(fit_video(video, canvas))
    return hold_video(_join(parts, video=True), duration)


# Slow camera moves over a still photo, as zoompan expressions of the output frame number ``on`` over N frames.
MOTIONS: dict[str, tuple[str, str, str]] = {
    "zoom_in": ("1+{z}*on/{n}", "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"),
    "zoom_out": ("1+{z}-{z}*on/{n}", "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"),
    "pan_right": ("1+{z}", "(iw-iw/zoom)*on/{n}", "(ih-ih/zoom)/2"),
    "pan_left": ("1+{z}", "(iw-iw/zoom)*(1-on/{n})", "(ih-ih/zoom)/2"),
    "pan_down": ("1+{z}", "(iw-iw/zoom)/2", "(ih-ih/zoom)*on/{n}"),
}


def photo_video(path: Path, duration: float, canvas: Canvas, motion: str = "zoom_in", zoom: float = 0.3) -> Stream:
    """A still photo shown for ``duration`` s with a slow pan or zoom (``zoompan`` on one decoded frame)."""
    frames = round(duration * canvas.fps)
    z, x, y = (expr.format(z=zoom, n=frames) for expr in MOTIONS[motion])
    video = (open_span(path).video
             # Work at twice the output size so that whole-pixel pan steps stay smooth after downscaling.
             .filter("scale", 2 * canvas.width, 2 * canvas.height, force_original_aspect_ratio="increase")
             .filter("crop", 2 * canvas.width, 2 * canvas.height)
             .filter("zoompan", z=z, x=x, y=y, d=frames, s=canvas.size, fps=canvas.fps)
             .filter("setsar", 1)
             .filter("format", "yuv420p"))
    return hold_video(video, duration)


def sound_audio(clips: Sequence[Clip], duration: float, canvas: Canvas) -> Stream:
    """Play audio ``clips`` back to back, fitted to the canvas, padded or cut to ``duration`` s."""
    if not clips:
        raise ValueError("no audio clips to play")
    parts = [fit_audio(open_span(c.path, c.start, c.duration).audio.filter("asetpts", "PTS-STARTPTS"),
                       canvas) for c in clips]
    return hold_audio(_join(parts, video=False), duration)


@dataclass(frozen=True)
class Visual:
    """A picture source: footage (one file, or several takes played in turn) or a still photo."""

    name: str
    kind: str  # "footage" | "photo"
    clips: tuple[Clip, ...]

    @property
    def length(self) -> float:
        """Seconds of footage before it loops (infinite for a photo)."""
        return float("inf") if self.kind == "photo" else sum(c.duration for c in self.clips)


@dataclass(frozen=True)
class Sound:
    """An audio source: one music file, or several speech utterances played in turn."""

    name: str
    clips: tuple[Clip, ...]

    @property
    def length(self) -> float:
        return sum(c.duration for c in self.clips)


@dataclass(frozen=True)
class Scene:
    """Original content: ``duration`` s of a visual source played with a sound source.

    Footage starts at ``visual_start`` and loops when it runs out, played at ``speed``; a photo moves with
    ``motion`` (a key of ``MOTIONS``); the sound starts at ``sound_start`` and is padded with silence.
    Clip paths may be relative: :func:`scene_av` resolves them against a media folder.
    """

    visual: Visual
    sound: Sound
    duration: int
    visual_start: float = 0.0
    sound_start: float = 0.0
    speed: float = 1.0
    motion: str = "zoom_in"


def _resolve(clips: Sequence[Clip], root: Path) -> list[Clip]:
    return [Clip(root / c.path, c.start, c.duration) for c in clips]


def scene_av(scene: Scene, root: Path, canvas: Canvas) -> AV:
    """The normalised (video, audio) streams of ``scene``, media paths taken relative to ``root``."""
    if scene.visual.kind == "photo":
        video = photo_video(root / scene.visual.clips[0].path, scene.duration, canvas, scene.motion)
    else:
        spans = window(_resolve(scene.visual.clips, root), scene.visual_start, scene.duration * scene.speed,
                       cycle=True)
        video = footage_video(spans, scene.duration, canvas, scene.speed)
    sounds = window(_resolve(scene.sound.clips, root), scene.sound_start, scene.duration)
    return video, sound_audio(sounds, scene.duration, canvas)


def concat(pieces: Sequence[AV]) -> AV:
    """Join normalised (video, audio) pieces in order."""
    if len(pieces) == 1:
        return pieces[0]
    joined = ffmpeg.concat(*(s for piece in pieces for s in piece), v=1, a=1).node
    return joined[0], joined[1]


def encode(video: Stream, audio: Stream, path: Path, canvas: Canvas, encoding: Encoding, duration: float) -> Path:
    """Encode to an H.264 + AAC mp4 of ``duration`` seconds at ``path`` (overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ffmpeg.output(
        video, audio, str(path), t=duration, vcodec="libx264", preset=encoding.preset, crf=encoding.crf,
        pix_fmt="yuv420p", r=canvas.fps, acodec="aac", audio_bitrate=encoding.audio_bitrate,
        ar=canvas.sample_rate, movflags="+faststart")
    try:
        out.global_args("-nostdin", "-hide_banner", "-loglevel", "error").overwrite_output().run(
            cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        message = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise MediaError(f"ffmpeg failed writing {path.name}: {message[-2000:]}") from exc
    return path


def materialise(video: Stream, audio: Stream, path: Path, canvas: Canvas, encoding: Encoding,
                duration: float) -> AV:
    """Encode a piece to ``path`` (a real lossy generation) and return its streams read back."""
    encode(video, audio, path, canvas, encoding, duration)
    return cut(path, 0.0, duration)

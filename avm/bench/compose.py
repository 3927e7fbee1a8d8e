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
import numpy as np

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
    """H.264 + audio encoder settings of one output file (``audio_codec``: a key of ``AUDIO_CODECS``)."""

    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "128k"
    audio_codec: str = "aac"


# Audio codec name -> (ffmpeg encoder, sample rate it is encoded at; None keeps the canvas rate).
AUDIO_CODECS: dict[str, tuple[str, int | None]] = {
    "aac": ("aac", None),
    "mp3": ("libmp3lame", None),
    "opus": ("libopus", 48000),
}


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
    raise MediaError(str(path), "cannot read its duration")


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
    """An audio source: one music file, or several files (utterances, tracks) played in turn."""

    name: str
    clips: tuple[Clip, ...]

    @property
    def length(self) -> float:
        return sum(c.duration for c in self.clips)


@dataclass(frozen=True)
class Shot:
    """``duration`` s of one visual: footage from ``start`` (looping, played at ``speed``) or a moving photo."""

    visual: Visual
    duration: int
    start: float = 0.0
    speed: float = 1.0
    motion: str = "zoom_in"  # a key of MOTIONS (photos only)


@dataclass(frozen=True)
class Excerpt:
    """``duration`` s of a sound from ``start`` (padded with silence past its end)."""

    sound: Sound
    start: float
    duration: int


@dataclass(frozen=True)
class Scene:
    """Original content: shots played back to back over one audio excerpt of the same length."""

    shots: tuple[Shot, ...]
    audio: Excerpt

    def __post_init__(self) -> None:
        if sum(s.duration for s in self.shots) != self.audio.duration:
            raise ValueError("the shots and the audio of a scene must last equally long")

    @property
    def duration(self) -> int:
        return self.audio.duration

    @property
    def visuals(self) -> tuple[str, ...]:
        """Names of the visual sources shown, in order of first appearance."""
        return tuple(dict.fromkeys(s.visual.name for s in self.shots))


def shot_video(shot: Shot, canvas: Canvas) -> Stream:
    """The normalised video stream of one shot."""
    if shot.visual.kind == "photo":
        return photo_video(shot.visual.clips[0].path, shot.duration, canvas, shot.motion)
    spans = window(shot.visual.clips, shot.start, shot.duration * shot.speed, cycle=True)
    return footage_video(spans, shot.duration, canvas, shot.speed)


def excerpt_audio(excerpt: Excerpt, canvas: Canvas) -> Stream:
    """The normalised audio stream of an excerpt."""
    return sound_audio(window(excerpt.sound.clips, excerpt.start, excerpt.duration), excerpt.duration, canvas)


def scene_av(scene: Scene, canvas: Canvas) -> AV:
    """The normalised (video, audio) streams of ``scene``."""
    video = _join([shot_video(s, canvas) for s in scene.shots], video=True)
    return video, excerpt_audio(scene.audio, canvas)


def still_video(visual: Visual, at: float = 0.0) -> Stream:
    """One frame of ``visual`` (the photo, or the footage frame at ``at`` s) as a single-frame stream."""
    if visual.kind == "photo":
        return open_span(visual.clips[0].path).video
    clip = window(visual.clips, at, 0.1, cycle=True)[0]
    return open_span(clip.path, clip.start).video.filter("trim", end_frame=1)


def measure_rms(audio: Stream, rate: int = 16000) -> float:
    """Root-mean-square level of ``audio`` (decoded to mono ``rate`` Hz)."""
    try:
        out, _ = (ffmpeg.output(audio, "pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=rate)
                  .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
                  .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True))
    except ffmpeg.Error as exc:
        message = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise MediaError("(level measurement)", f"ffmpeg failed: {message[-2000:]}") from exc
    samples = np.frombuffer(out, np.float32)
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def concat(pieces: Sequence[AV]) -> AV:
    """Join normalised (video, audio) pieces in order."""
    if len(pieces) == 1:
        return pieces[0]
    joined = ffmpeg.concat(*(s for piece in pieces for s in piece), v=1, a=1).node
    return joined[0], joined[1]


def encode(video: Stream, audio: Stream, path: Path, canvas: Canvas, encoding: Encoding, duration: float) -> Path:
    """Encode to H.264 + ``encoding.audio_codec`` at ``path`` (mp4, or any container ffmpeg names by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder, rate = AUDIO_CODECS[encoding.audio_codec]
    options: dict[str, Any] = {"movflags": "+faststart"} if path.suffix == ".mp4" else {}
    out = ffmpeg.output(
        video, audio, str(path), t=duration, vcodec="libx264", preset=encoding.preset, crf=encoding.crf,
        pix_fmt="yuv420p", r=canvas.fps, acodec=encoder, audio_bitrate=encoding.audio_bitrate,
        ar=rate or canvas.sample_rate, **options)
    try:
        out.global_args("-nostdin", "-hide_banner", "-loglevel", "error").overwrite_output().run(
            cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        message = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise MediaError(str(path), f"ffmpeg failed writing it: {message[-2000:]}") from exc
    return path


def materialise(video: Stream, audio: Stream, path: Path, canvas: Canvas, encoding: Encoding,
                duration: float) -> AV:
    """Encode a piece to ``path`` (a real lossy generation) and return its streams read back."""
    encode(video, audio, path, canvas, encoding, duration)
    return cut(path, 0.0, duration)

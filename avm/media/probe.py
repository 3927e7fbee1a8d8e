"""Probe a media file's container and streams (PyAV: in-process, since the pip ffmpeg has no ffprobe)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import av

from avm.media.errors import MediaError
from avm.media.source import check_input
from avm.media.tools import ffmpeg_exe

# Demuxers of ordinary media files and pictures. None of them opens further files named inside the input, as
# playlists and manifests (hls, dash, concat) do.
MEDIA_FORMATS: tuple[str, ...] = (
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "mpegts", "avi", "flv", "asf", "mpeg", "mpegvideo",
    "ogg", "rm", "nut", "mxf", "ivf", "dv", "m4v", "h264", "hevc",
    "mp3", "aac", "ac3", "eac3", "dts", "wav", "w64", "flac", "aiff", "caf", "amr", "wv", "ape", "au",
    "image2", "jpeg_pipe", "png_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif",
)

_PROBED = re.compile(r"Format (\S+) probed with size")


@dataclass(frozen=True)
class StreamInfo:
    """One audio or video stream of a file."""

    type: str  # "audio" | "video"
    codec: str
    sample_rate: int | None = None
    channels: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_aspect: float | None = None
    duration: float | None = None  # seconds, where the container states it per stream


@dataclass(frozen=True)
class MediaInfo:
    """What a probe learns of a file."""

    uri: str
    duration: float
    format: str
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)

    @property
    def has_audio(self) -> bool:
        return any(s.type == "audio" for s in self.streams)

    @property
    def has_video(self) -> bool:
        return any(s.type == "video" for s in self.streams)

    def streams_json(self) -> str:
        """The streams as a JSON string (stored in the videos table)."""
        return json.dumps([asdict(s) for s in self.streams])


def format_allowed(fmt: str, allowed: Sequence[str]) -> bool:
    """Whether the demuxer ``fmt`` (e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``) has a name in ``allowed``, as ffmpeg's
    ``-format_whitelist`` matches it."""
    return not set(fmt.split(",")).isdisjoint(allowed)


def format_refused(fmt: str | None) -> str:
    """The reason given for a container format that is not whitelisted."""
    return f"container format {fmt or '(unknown)'!r} is not allowed (media.allowed_formats)"


def sniff_format(target: str, protocols: str, timeout: float = 30.0) -> str | None:
    """The demuxer ffmpeg detects for ``target``, read from its debug log; with no format whitelisted it stops
    right after detection, so nothing the input names is opened."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "debug", "-protocol_whitelist", protocols,
           "-format_whitelist", "none", "-i", target]
    try:
        log = subprocess.run(cmd, capture_output=True, timeout=timeout).stderr.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _PROBED.findall(log)
    return found[-1] if found else None


def _stream_info(stream: av.stream.Stream) -> StreamInfo | None:
    codec = stream.codec_context.name if stream.codec_context else "unknown"
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    if stream.type == "audio":
        return StreamInfo("audio", codec, sample_rate=stream.sample_rate, channels=stream.channels, duration=duration)
    if stream.type == "video":
        if stream.disposition & av.stream.Disposition.attached_pic:
            return None  # cover art is not a video stream
        rate = stream.average_rate or stream.guessed_rate
        sar = stream.sample_aspect_ratio
        return StreamInfo("video", codec, width=stream.width, height=stream.height,
                          fps=float(rate) if rate else None, sample_aspect=float(sar) if sar else None,
                          duration=duration)
    return None


def probe(uri: str, allowed_schemes: tuple[str, ...] = (), allowed_formats: Sequence[str] | None = None,
          timeout: float = 30.0) -> MediaInfo:
    """Return the duration and audio/video streams of ``uri``; raise MediaError when it is not media.

    Only the container formats in ``allowed_formats`` (None: :data:`MEDIA_FORMATS`) are opened; ``timeout`` bounds
    each wait for data, in seconds.
    """
    allowed = MEDIA_FORMATS if allowed_formats is None else tuple(allowed_formats)
    target, protocols = check_input(uri, allowed_schemes)
    whitelists = {"protocol_whitelist": protocols, "format_whitelist": ",".join(allowed)}
    try:
        with av.open(target, container_options=whitelists, timeout=timeout) as container:
            streams = tuple(s for s in map(_stream_info, container.streams) if s is not None)
            duration = container.duration / av.time_base if container.duration else 0.0
            if not duration:
                duration = max((float(s.duration * s.time_base) for s in container.streams
                                if s.duration and s.time_base), default=0.0)
            fmt = container.format.name
    except Exception as exc:  # PyAV raises many subclasses; all mean "not readable media"
        if isinstance(exc, av.error.ArgumentError):  # what a format off the whitelist gives, nameless
            sniffed = sniff_format(target, protocols, timeout)
            if sniffed and not format_allowed(sniffed, allowed):
                raise MediaError(uri, format_refused(sniffed)) from exc
        raise MediaError(uri, f"not a readable media file ({type(exc).__name__}: {exc})") from exc
    if not format_allowed(fmt, allowed):
        raise MediaError(uri, format_refused(fmt))
    if not streams:
        raise MediaError(uri, "no audio or video stream")
    return MediaInfo(uri=uri, duration=float(duration), format=fmt, streams=streams)

"""Probe a media file's container and streams (PyAV: in-process, since the pip ffmpeg has no ffprobe)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import av

from avm.media.errors import MediaError
from avm.media.source import check_input


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


def _stream_info(stream: av.stream.Stream) -> StreamInfo | None:
    codec = stream.codec_context.name if stream.codec_context else "unknown"
    if stream.type == "audio":
        return StreamInfo("audio", codec, sample_rate=stream.sample_rate, channels=stream.channels)
    if stream.type == "video":
        if stream.disposition & av.stream.Disposition.attached_pic:
            return None  # cover art is not a video stream
        rate = stream.average_rate or stream.guessed_rate
        sar = stream.sample_aspect_ratio
        return StreamInfo("video", codec, width=stream.width, height=stream.height,
                          fps=float(rate) if rate else None, sample_aspect=float(sar) if sar else None)
    return None


def probe(uri: str, allowed_schemes: tuple[str, ...] = ()) -> MediaInfo:
    """Return the duration and audio/video streams of ``uri``; raise MediaError when it is not media."""
    target, _ = check_input(uri, allowed_schemes)
    try:
        with av.open(target, timeout=30) as container:
            streams = tuple(s for s in map(_stream_info, container.streams) if s is not None)
            duration = container.duration / av.time_base if container.duration else 0.0
            if not duration:
                duration = max((float(s.duration * s.time_base) for s in container.streams
                                if s.duration and s.time_base), default=0.0)
            fmt = container.format.name
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises many subclasses; all mean "not readable media"
        raise MediaError(uri, f"not a readable media file ({type(exc).__name__}: {exc})") from exc
    if not streams:
        raise MediaError(uri, "no audio or video stream")
    return MediaInfo(uri=uri, duration=float(duration), format=fmt, streams=streams)

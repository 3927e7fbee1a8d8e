"""Decode media to normalised arrays through ffmpeg pipes (ffmpeg-python, never a shell, no temp files).

Audio becomes 16 kHz mono float32; video becomes grayscale frames at a fixed rate, fitted into a small
square with the picture's own black letterbox/pillarbox bars cropped away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ffmpeg
import numpy as np

from avm.media.errors import MediaError
from avm.media.probe import MediaInfo, probe
from avm.media.source import check_input
from avm.media.tools import ffmpeg_exe


@dataclass
class DecodeOptions:
    """How to normalise media (the ``media`` config group)."""

    sample_rate: int = 16000
    frame_rate: float = 2.0
    frame_size: int = 128  # frames are fitted into frame_size x frame_size before bars are cropped
    bar_threshold: int = 24  # a row/column whose brightest frame mean stays below this is a black bar
    max_bar_fraction: float = 0.35  # never crop more than this from one side
    ffmpeg_threads: int = 1
    allowed_schemes: tuple[str, ...] = ()  # URL schemes ffmpeg may open besides local files, e.g. (http, https)


@dataclass
class DecodedMedia:
    """A file's normalised streams. Missing modalities are None."""

    info: MediaInfo
    audio: np.ndarray | None  # float32 [n_samples] at sample_rate
    sample_rate: int
    frames: np.ndarray | None  # uint8 [n_frames, h, w], bars removed
    frame_rate: float
    crop: tuple[int, int, int, int] | None = None  # top, bottom, left, right bars removed (pixels at frame_size)


def _run(stream: ffmpeg.nodes.OutputStream, uri: str) -> bytes:
    try:
        out, _ = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error").run(
            cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        message = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise MediaError(uri, f"ffmpeg failed: {' | '.join(message[-3:]) or 'no message'}") from exc
    return out


def decode_audio(uri: str, opts: DecodeOptions) -> np.ndarray:
    """Decode the first audio stream of ``uri`` to mono float32 at ``opts.sample_rate``."""
    target, protocols = check_input(uri, opts.allowed_schemes)
    stream = (ffmpeg.input(target, protocol_whitelist=protocols, threads=opts.ffmpeg_threads)["a:0"]
              .output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=opts.sample_rate))
    return np.frombuffer(_run(stream, uri), dtype=np.float32)


def decode_frames(uri: str, opts: DecodeOptions) -> np.ndarray:
    """Decode the first video stream of ``uri`` to gray uint8 frames [n, S, S] at ``opts.frame_rate``.

    The picture keeps its display aspect ratio and is padded with black to a square; the padding and
    any black bars in the picture itself are removed afterwards by :func:`remove_black_bars`.
    """
    return _gray_frames(uri, opts, opts.frame_rate)


def decode_still(uri: str, opts: DecodeOptions) -> np.ndarray:
    """Decode a picture (JPEG, PNG, WebP...) like a video frame: gray uint8 [1, S, S], fitted and padded as
    :func:`decode_frames` does (a still has no frame rate, so none is imposed)."""
    return _gray_frames(uri, opts, None)[:1]


def _gray_frames(uri: str, opts: DecodeOptions, frame_rate: float | None) -> np.ndarray:
    target, protocols = check_input(uri, opts.allowed_schemes)
    size = opts.frame_size
    video = ffmpeg.input(target, protocol_whitelist=protocols, threads=opts.ffmpeg_threads)["v:0"]
    if frame_rate is not None:
        video = video.filter("fps", fps=frame_rate)
    video = (video.filter("scale", "iw*sar", "ih").filter("setsar", 1)
             .filter("scale", size, size, force_original_aspect_ratio="decrease", flags="area")
             .filter("pad", size, size, "(ow-iw)/2", "(oh-ih)/2", color="black"))
    raw = _run(video.output("pipe:", format="rawvideo", pix_fmt="gray"), uri)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, size, size)


def _bar_extent(profile: np.ndarray, threshold: int, limit: int) -> int:
    """How many leading entries of ``profile`` are below ``threshold`` (at most ``limit``)."""
    dark = profile < threshold
    if dark.all():
        return 0
    return int(min(np.argmin(dark), limit))


def remove_black_bars(frames: np.ndarray, threshold: int, max_fraction: float) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Crop rows/columns at the edges that stay black in every frame (letterbox, pillarbox, padding)."""
    if len(frames) == 0:
        return frames, (0, 0, 0, 0)
    row_profile = frames.mean(axis=2).max(axis=0)  # brightest mean of each row over time
    col_profile = frames.mean(axis=1).max(axis=0)
    h, w = frames.shape[1:]
    top = _bar_extent(row_profile, threshold, int(h * max_fraction))
    bottom = _bar_extent(row_profile[::-1], threshold, int(h * max_fraction))
    left = _bar_extent(col_profile, threshold, int(w * max_fraction))
    right = _bar_extent(col_profile[::-1], threshold, int(w * max_fraction))
    return frames[:, top:h - bottom, left:w - right], (top, bottom, left, right)


def decode(uri: str, opts: DecodeOptions, info: MediaInfo | None = None,
           modalities: Sequence[str] = ("audio", "visual")) -> DecodedMedia:
    """Probe ``uri`` and decode each of ``modalities`` (``audio``, ``visual``) that it has."""
    info = info or probe(uri, opts.allowed_schemes)
    audio = decode_audio(uri, opts) if "audio" in modalities and info.has_audio else None
    frames, crop = None, None
    if "visual" in modalities and info.has_video:
        frames, crop = remove_black_bars(decode_frames(uri, opts), opts.bar_threshold, opts.max_bar_fraction)
    if (audio is None or audio.size == 0) and (frames is None or len(frames) == 0):
        raise MediaError(uri, "decoded no audio samples and no video frames")
    return DecodedMedia(info=info, audio=audio if audio is not None and audio.size else None,
                        sample_rate=opts.sample_rate,
                        frames=frames if frames is not None and len(frames) else None,
                        frame_rate=opts.frame_rate, crop=crop)

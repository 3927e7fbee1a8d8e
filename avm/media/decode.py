"""Decode media to normalised arrays through ffmpeg pipes (ffmpeg-python, never a shell, no temp files).

Audio becomes 16 kHz mono float32; video becomes grayscale frames at a fixed rate, fitted into a small
square with the picture's own black letterbox/pillarbox bars cropped away. A truncated or corrupt file is
noticed (ffmpeg's error lines, and less decoded than the probe promised) and either kept or refused.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

import ffmpeg
import numpy as np

from avm.config import check_values, one_of, ranged
from avm.errors import UserError
from avm.media.errors import MediaError
from avm.media.probe import MEDIA_FORMATS, MediaInfo, format_refused, probe, sniff_format
from avm.media.source import check_input
from avm.media.tools import ffmpeg_exe

_ADDRESS = re.compile(r" @ 0x[0-9a-fA-F]+")  # "[aac @ 0x55d0...]" → "[aac]"
_MAX_MESSAGE = 200
ON_DAMAGE = ("partial", "fail")


@dataclass
class DecodeOptions:
    """How to normalise media (the ``media`` config group)."""

    sample_rate: int = ranged(16000, 8000)
    frame_rate: float = ranged(2.0, 0.01)
    frame_size: int = ranged(128, 16)  # frames are fitted into frame_size x frame_size before bars are cropped
    bar_threshold: int = ranged(24, 0, 255)  # a row/column whose brightest frame mean stays below this is a black bar
    max_bar_fraction: float = ranged(0.35, 0.0, 0.5)  # never crop more than this from one side
    ffmpeg_threads: int = ranged(1, 0)  # 0: ffmpeg's choice
    allowed_schemes: tuple[str, ...] = ()  # URL schemes ffmpeg may open besides local files, e.g. (http, https)
    allowed_formats: tuple[str, ...] = MEDIA_FORMATS  # container formats (demuxer names) that may be opened
    # a damaged file (ffmpeg reports errors, or it decodes shorter than probed): "partial" keeps what decodes and
    # says why in DecodedMedia.damage; "fail" raises MediaError
    on_damage: str = one_of("partial", ON_DAMAGE)
    max_missing_seconds: float = ranged(1.0, 0.0)  # a stream may decode this much shorter than probed ...
    max_missing_fraction: float = ranged(0.01, 0.0, 1.0)  # ... plus this fraction of its probed duration (and one frame interval)
    # ffmpeg is killed when one file takes longer (in pieces: waiting for its output); 0 = no limit
    decode_timeout_seconds: float = ranged(600.0, 0.0)
    # a file probed longer than chunk_seconds is decoded in pieces of this length (0: always whole), each with
    # chunk_margin_seconds of the stream on each side, so that memory does not grow with the file
    chunk_seconds: float = ranged(600.0, 0.0)
    chunk_margin_seconds: float = ranged(5.0, 1.0)

    def __post_init__(self) -> None:
        """Raise a :class:`UserError` for a value out of its range or choices, or a rule the options break."""
        check_values(self, "media.")  # options built in Python too
        if not self.allowed_formats:
            raise UserError("media.allowed_formats is empty: no file could be opened")
        if self.chunk_seconds:  # whole seconds keep every piece on the frame and step grids of the models
            whole = float(self.chunk_seconds).is_integer() and float(self.chunk_margin_seconds).is_integer()
            if not whole or not 1 <= self.chunk_margin_seconds < self.chunk_seconds:
                raise UserError(f"media.chunk_seconds ({self.chunk_seconds:g}) and media.chunk_margin_seconds "
                                 f"({self.chunk_margin_seconds:g}) must be whole seconds, the margin at least 1 and "
                                 f"less than the chunk (or chunk_seconds=0: files are decoded whole)")


@dataclass(frozen=True)
class Span:
    """Where one piece of a stream lies in the file, in samples (audio) or frames (video).

    The piece holds the stream from index ``first`` on; it answers for what starts in ``[keep_start, keep_stop)``
    and holds a margin of the stream on each side of that (none before the stream's start or after its end,
    where ``last`` is set).
    """

    first: int
    keep_start: int
    keep_stop: int
    last: bool


@dataclass
class DecodedMedia:
    """A file's normalised streams. Missing modalities are None."""

    info: MediaInfo
    audio: np.ndarray | None  # float32 [n_samples] at sample_rate
    sample_rate: int
    frames: np.ndarray | None  # uint8 [n_frames, h, w], bars removed
    frame_rate: float
    crop: tuple[int, int, int, int] | None = None  # top, bottom, left, right bars removed (pixels at frame_size)
    damage: str | None = None  # why the file looks truncated or corrupt (on_damage="partial"); None when healthy
    # a piece of a long file (avm.media.pieces): where its audio samples / frames lie in the file; None: whole
    audio_span: Span | None = None
    frames_span: Span | None = None

    @property
    def empty(self) -> bool:
        """Whether it holds neither audio nor frames (the closing piece of a long file)."""
        return self.audio is None and self.frames is None


def _deadline(opts: DecodeOptions) -> float | None:
    return time.monotonic() + opts.decode_timeout_seconds if opts.decode_timeout_seconds else None


def _run(stream: ffmpeg.nodes.OutputStream, uri: str, opts: DecodeOptions,
         deadline: float | None) -> tuple[bytes, list[str]]:
    """Run ffmpeg until it ends or ``deadline`` passes (then kill it); return its output and its error lines."""
    timeout = None if deadline is None else deadline - time.monotonic()
    if timeout is not None and timeout <= 0:
        raise too_slow(uri, opts)
    proc = start_ffmpeg(stream)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise too_slow(uri, opts) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return out, finish_ffmpeg(proc, uri, opts, err)


def _error_lines(err: bytes) -> list[str]:
    return [_ADDRESS.sub("", line)[:_MAX_MESSAGE] for line in err.decode("utf-8", "replace").splitlines()
            if line.strip()]


def _failure(uri: str, opts: DecodeOptions, lines: list[str]) -> MediaError:
    """The error of an ffmpeg run that exited non-zero with these error lines."""
    if any("Format not on whitelist" in line for line in lines):
        return MediaError(uri, format_refused(sniff_format(*check_input(uri, opts.allowed_schemes))))
    return MediaError(uri, f"ffmpeg failed: {' | '.join(lines[-3:]) or 'no message'}")


def too_slow(uri: str, opts: DecodeOptions) -> MediaError:
    """The error of a file whose decoding ran out of ``decode_timeout_seconds``."""
    return MediaError(uri, f"decoding took longer than {opts.decode_timeout_seconds:g} s "
                           f"(media.decode_timeout_seconds)")


def start_ffmpeg(stream: ffmpeg.nodes.OutputStream) -> subprocess.Popen:
    """ffmpeg running ``stream``, its output and error lines on pipes."""
    return stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error").run_async(
        cmd=ffmpeg_exe(), pipe_stdout=True, pipe_stderr=True)


def finish_ffmpeg(proc: subprocess.Popen, uri: str, opts: DecodeOptions, err: bytes) -> list[str]:
    """The error lines of an ended ffmpeg run; MediaError when it failed."""
    lines = _error_lines(err)
    if proc.returncode != 0:
        raise _failure(uri, opts, lines)
    return lines


def _input(uri: str, opts: DecodeOptions) -> ffmpeg.nodes.FilterableStream:
    target, protocols = check_input(uri, opts.allowed_schemes)
    return ffmpeg.input(target, protocol_whitelist=protocols, format_whitelist=",".join(opts.allowed_formats),
                        threads=opts.ffmpeg_threads)


def _checked(uri: str, opts: DecodeOptions, result: tuple[np.ndarray, list[str]]) -> np.ndarray:
    """The decoded array; with on_damage="fail", MediaError when ffmpeg reported errors."""
    data, errors = result
    if errors and opts.on_damage == "fail":
        raise MediaError(uri, f"ffmpeg: {errors[0]}")
    return data


def decode_audio(uri: str, opts: DecodeOptions) -> np.ndarray:
    """Decode the first audio stream of ``uri`` to mono float32 at ``opts.sample_rate``."""
    return _checked(uri, opts, _audio(uri, opts, _deadline(opts)))


def decode_frames(uri: str, opts: DecodeOptions) -> np.ndarray:
    """Decode the first video stream of ``uri`` to gray uint8 frames [n, S, S] at ``opts.frame_rate``.

    The picture keeps its display aspect ratio and is padded with black to a square; the padding and
    any black bars in the picture itself are removed afterwards by :func:`remove_black_bars`.
    """
    return _checked(uri, opts, _gray_frames(uri, opts, opts.frame_rate, _deadline(opts)))


def decode_still(uri: str, opts: DecodeOptions) -> np.ndarray:
    """Decode a picture (JPEG, PNG, WebP...) like a video frame: gray uint8 [1, S, S], fitted and padded as
    :func:`decode_frames` does (a still has no frame rate, so none is imposed)."""
    return _checked(uri, opts, _gray_frames(uri, opts, None, _deadline(opts)))[:1]


def audio_output(uri: str, opts: DecodeOptions) -> ffmpeg.nodes.OutputStream:
    """ffmpeg's output of the first audio stream of ``uri``: mono float32 samples at ``opts.sample_rate``."""
    return _input(uri, opts)["a:0"].output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=opts.sample_rate)


def frames_output(uri: str, opts: DecodeOptions, frame_rate: float | None) -> ffmpeg.nodes.OutputStream:
    """ffmpeg's output of the first video stream of ``uri``: gray frames fitted and padded into a square of
    ``opts.frame_size``, at ``frame_rate`` (None: every frame)."""
    size = opts.frame_size
    video = _input(uri, opts)["v:0"]
    if frame_rate is not None:
        video = video.filter("fps", fps=frame_rate)
    video = (video.filter("scale", "iw*sar", "ih").filter("setsar", 1)
             .filter("scale", size, size, force_original_aspect_ratio="decrease", flags="area")
             .filter("pad", size, size, "(ow-iw)/2", "(oh-ih)/2", color="black"))
    return video.output("pipe:", format="rawvideo", pix_fmt="gray")


def _audio(uri: str, opts: DecodeOptions, deadline: float | None) -> tuple[np.ndarray, list[str]]:
    raw, errors = _run(audio_output(uri, opts), uri, opts, deadline)
    return np.frombuffer(raw, dtype=np.float32), errors


def _gray_frames(uri: str, opts: DecodeOptions, frame_rate: float | None,
                 deadline: float | None) -> tuple[np.ndarray, list[str]]:
    raw, errors = _run(frames_output(uri, opts, frame_rate), uri, opts, deadline)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, opts.frame_size, opts.frame_size), errors


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


def probed_seconds(info: MediaInfo, kind: str) -> float:
    """The probed duration of the first ``kind`` stream, else of the whole file."""
    return next((s.duration for s in info.streams if s.type == kind and s.duration), info.duration)


def shortfall(kind: str, decoded: float, probed: float, opts: DecodeOptions, slack: float = 0.0) -> str | None:
    """Why ``decoded`` seconds of a ``kind`` stream probed at ``probed`` seconds is too short, or None."""
    if probed - decoded > opts.max_missing_seconds + opts.max_missing_fraction * probed + slack:
        return f"decoded {decoded:.1f} s of {probed:.1f} s probed ({kind})"
    return None


def file_damage(uri: str, opts: DecodeOptions, shortfalls: list[str | None], errors: list[str],
                decoded: bool) -> str | None:
    """Why a decoded file is damaged (None when healthy), from its streams' shortfalls and ffmpeg's error lines;
    MediaError when nothing ``decoded`` or, with ``on_damage="fail"``, when it is damaged."""
    damage = "; ".join([s for s in shortfalls if s] + [f"ffmpeg: {line}" for line in errors[:1]]) or None
    if not decoded:
        raise MediaError(uri, "decoded no audio samples and no video frames" + (f"; {damage}" if damage else ""))
    if damage and opts.on_damage == "fail":
        raise MediaError(uri, damage)
    return damage


def decode(uri: str, opts: DecodeOptions, info: MediaInfo | None = None,
           modalities: Sequence[str] = ("audio", "visual")) -> DecodedMedia:
    """Probe ``uri`` and decode each of ``modalities`` (``audio``, ``visual``) that it has.

    A damaged file raises MediaError with ``opts.on_damage="fail"``; else what decodes is returned and
    ``damage`` says what is wrong. The whole call is bounded by ``opts.decode_timeout_seconds``.
    """
    deadline = _deadline(opts)
    info = info or probe(uri, opts.allowed_schemes, opts.allowed_formats)
    audio, frames, crop, errors, short = None, None, None, [], []
    if "audio" in modalities and info.has_audio:
        audio, lines = _audio(uri, opts, deadline)
        errors += lines
        short.append(shortfall("audio", len(audio) / opts.sample_rate, probed_seconds(info, "audio"), opts))
    if "visual" in modalities and info.has_video:
        raw, lines = _gray_frames(uri, opts, opts.frame_rate, deadline)
        errors += lines
        short.append(shortfall("video", len(raw) / opts.frame_rate, probed_seconds(info, "video"), opts,
                                slack=1 / opts.frame_rate))
        frames, crop = remove_black_bars(raw, opts.bar_threshold, opts.max_bar_fraction)
    decoded = (audio is not None and audio.size > 0) or (frames is not None and len(frames) > 0)
    damage = file_damage(uri, opts, short, errors, decoded)
    return DecodedMedia(info=info, audio=audio if audio is not None and audio.size else None,
                        sample_rate=opts.sample_rate,
                        frames=frames if frames is not None and len(frames) else None,
                        frame_rate=opts.frame_rate, crop=crop, damage=damage)

"""Decode a long file in overlapping pieces of bounded length, so that memory does not grow with the file.

Each stream is read from one ffmpeg pipe, as it decodes, into pieces of ``chunk_seconds`` with
``chunk_margin_seconds`` of the stream on each side: the same samples and frames as one whole decode, never more
than one piece (and its margins) held at once. The pieces of one stream come in order, then those of the next;
the last piece of the file holds no samples and says whether the file was damaged.
"""

from __future__ import annotations

import math
import subprocess
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

import ffmpeg
import numpy as np

from avm.media.decode import (
    DecodedMedia,
    DecodeOptions,
    Span,
    audio_output,
    file_damage,
    finish_ffmpeg,
    frames_output,
    probed_seconds,
    remove_black_bars,
    shortfall,
    start_ffmpeg,
    too_slow,
)
from avm.media.probe import MediaInfo


class _Pipe:
    """One ffmpeg run read piece by piece. Its error output is drained by a thread (a full pipe would stall
    ffmpeg), and the time spent waiting for its output is bounded by ``budget`` seconds: ffmpeg is killed when
    that runs out (waiting for the reader, e.g. for the fingerprinting of the previous piece, does not count)."""

    def __init__(self, stream: ffmpeg.nodes.OutputStream, uri: str, opts: DecodeOptions, budget: list[float]) -> None:
        self.uri, self.opts, self.budget = uri, opts, budget
        self.proc = start_ffmpeg(stream)
        self.err = b""
        self.timed_out = False
        self._drain = threading.Thread(target=self._read_errors, daemon=True)
        self._drain.start()

    def _read_errors(self) -> None:
        self.err = self.proc.stderr.read()

    def _kill(self) -> None:
        self.timed_out = True
        self.proc.kill()

    def read(self, n_bytes: int) -> bytes:
        """Up to ``n_bytes`` of output (fewer only at its end)."""
        watchdog = None
        if self.opts.decode_timeout_seconds:
            if self.budget[0] <= 0:
                raise too_slow(self.uri, self.opts)
            watchdog = threading.Timer(self.budget[0], self._kill)
            watchdog.start()
        started = time.monotonic()
        try:
            data = self.proc.stdout.read(n_bytes)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self.budget[0] -= time.monotonic() - started
        if self.timed_out:
            raise too_slow(self.uri, self.opts)
        return data

    def close(self) -> list[str]:
        """Wait for ffmpeg to end (within what is left of the time limit); its error lines (MediaError when it
        failed)."""
        self.proc.stdout.close()
        try:
            self.proc.wait(timeout=max(self.budget[0], 1.0) if self.opts.decode_timeout_seconds else None)
        except subprocess.TimeoutExpired:
            raise too_slow(self.uri, self.opts) from None
        self._drain.join()
        return finish_ffmpeg(self.proc, self.uri, self.opts, self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._drain.join()


def _spans(pipe: _Pipe, dtype: type, shape: tuple[int, ...], chunk: int,
           margin: int) -> Iterator[tuple[Span, np.ndarray]]:
    """The stream of ``pipe`` (units of ``dtype`` and ``shape``: a sample, a frame) in pieces answering for
    ``chunk`` units each, with up to ``margin`` units on each side."""
    unit_bytes = np.dtype(dtype).itemsize * math.prod(shape)
    held, first, keep_start = np.zeros((0, *shape), dtype), 0, 0
    ended = False
    while True:
        keep_stop = keep_start + chunk
        wanted = keep_stop + margin - (first + len(held))
        if wanted > 0 and not ended:
            raw = pipe.read(wanted * unit_bytes)
            ended = len(raw) < wanted * unit_bytes
            whole_units = len(raw) // unit_bytes
            more = np.frombuffer(raw, dtype, count=whole_units * math.prod(shape)).reshape(whole_units, *shape)
            held = np.concatenate([held, more]) if len(held) else more
        end = first + len(held)
        if end <= keep_start:
            return
        yield Span(first, keep_start, min(keep_stop, end), last=ended), held
        if ended and end <= keep_stop:
            return
        keep_start = keep_stop
        drop = keep_start - margin - first
        held, first = held[drop:], first + drop


@dataclass
class _Stream:
    """One stream to read in pieces: what ffmpeg outputs, its units (a sample, a frame) per second, their layout,
    and how a piece of them becomes a :class:`DecodedMedia`."""

    kind: str  # "audio" or "video", as the shortfall names it
    output: ffmpeg.nodes.OutputStream
    rate: float
    dtype: type
    shape: tuple[int, ...]
    piece: Callable[[Span, np.ndarray], DecodedMedia]
    slack: float = 0.0  # seconds of shortfall tolerated beyond the options' (a frame's rounding)


def _read(stream: _Stream, uri: str, opts: DecodeOptions, info: MediaInfo, budget: list[float],
          errors: list[str], shortfalls: list[str | None]) -> Generator[DecodedMedia, None, int]:
    """The pieces of one stream; its ffmpeg error lines and its shortfall are added to ``errors`` and
    ``shortfalls``. Returns the units decoded."""
    pipe = _Pipe(stream.output, uri, opts, budget)
    units = 0
    try:
        for span, held in _spans(pipe, stream.dtype, stream.shape, int(round(opts.chunk_seconds * stream.rate)),
                                 int(math.ceil(opts.chunk_margin_seconds * stream.rate))):
            units = span.first + len(held)
            yield stream.piece(span, held)
        errors += pipe.close()
    finally:
        pipe.kill()
    shortfalls.append(shortfall(stream.kind, units / stream.rate, probed_seconds(info, stream.kind), opts,
                                slack=stream.slack))
    return units


def decode_pieces(uri: str, opts: DecodeOptions, info: MediaInfo,
                  modalities: Sequence[str] = ("audio", "visual")) -> Iterator[DecodedMedia]:
    """``uri`` decoded in pieces: each holds one stream's samples or frames and its :class:`Span`; the last holds
    neither and carries the file's ``damage``. Black bars are found in each piece's own frames (a piece lasts
    ``chunk_seconds``: a film's letterbox is found in every piece alike). MediaError as :func:`decode` raises it
    (after the pieces that decoded: a consumer drops them)."""

    def samples(span: Span, wave: np.ndarray) -> DecodedMedia:
        return DecodedMedia(info, wave, opts.sample_rate, None, opts.frame_rate, audio_span=span)

    def frames(span: Span, raw: np.ndarray) -> DecodedMedia:
        kept, crop = remove_black_bars(raw, opts.bar_threshold, opts.max_bar_fraction)
        return DecodedMedia(info, None, opts.sample_rate, kept, opts.frame_rate, crop=crop, frames_span=span)

    streams = []
    if "audio" in modalities and info.has_audio:
        streams.append(_Stream("audio", audio_output(uri, opts), opts.sample_rate, np.float32, (), samples))
    if "visual" in modalities and info.has_video:
        size = opts.frame_size
        streams.append(_Stream("video", frames_output(uri, opts, opts.frame_rate), opts.frame_rate, np.uint8,
                               (size, size), frames, slack=1 / opts.frame_rate))
    budget = [opts.decode_timeout_seconds]
    errors: list[str] = []
    shortfalls: list[str | None] = []
    decoded = False
    for stream in streams:
        decoded = (yield from _read(stream, uri, opts, info, budget, errors, shortfalls)) > 0 or decoded
    damage = file_damage(uri, opts, shortfalls, errors, decoded)
    yield DecodedMedia(info, None, opts.sample_rate, None, opts.frame_rate, damage=damage)


def is_long(info: MediaInfo, opts: DecodeOptions) -> bool:
    """Whether ``info``'s file is decoded in pieces (probed longer than ``opts.chunk_seconds``)."""
    return bool(opts.chunk_seconds) and info.duration > opts.chunk_seconds


"""Edit decoded audio with ffmpeg: a filter graph and/or a lossy codec round trip, through pipes (no shell, no files).

Used to make training variants (codec round trips, pitch shifts with tempo kept) and held-out test edits. The
result is float32 mono at the input's rate; with ``align`` it is shifted back by the codec's delay (found by
cross-correlation) and cut or padded to the input's length, so that sample ``i`` still holds the input's
sample ``i``.
"""

from __future__ import annotations

import ffmpeg
import numpy as np

from avm.media.errors import MediaError
from avm.media.tools import ffmpeg_exe

# codec name → (ffmpeg encoder, muxer and demuxer of a container that streams through a pipe)
CODECS: dict[str, tuple[str, str, str]] = {"mp3": ("libmp3lame", "mp3", "mp3"), "opus": ("libopus", "ogg", "ogg"),
                                           "aac": ("aac", "adts", "aac"), "vorbis": ("libvorbis", "ogg", "ogg")}


def _pipe(stream: ffmpeg.nodes.OutputStream, data: bytes, what: str) -> bytes:
    try:
        out, _ = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error").run(
            cmd=ffmpeg_exe(), input=data, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        message = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise MediaError(what, f"ffmpeg failed: {' | '.join(message[-3:]) or 'no message'}") from exc
    return out


def _pcm_input(sample_rate: int) -> ffmpeg.nodes.FilterableStream:
    return ffmpeg.input("pipe:", format="f32le", ar=sample_rate, ac=1)


def codec_round_trip(wave: np.ndarray, sample_rate: int, codec: str, bitrate: str) -> np.ndarray:
    """Encode ``wave`` with ``codec`` at ``bitrate`` (e.g. ``"32k"``) and decode it again (not aligned)."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; known: {sorted(CODECS)}")
    encoder, muxer, demuxer = CODECS[codec]
    encoded = _pipe(_pcm_input(sample_rate).output("pipe:", format=muxer, acodec=encoder, audio_bitrate=bitrate),
                    np.ascontiguousarray(wave, np.float32).tobytes(), f"{codec} encode")
    decoded = _pipe(ffmpeg.input("pipe:", format=demuxer).output(
        "pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate), encoded, f"{codec} decode")
    return np.frombuffer(decoded, np.float32).copy()


def filter_audio(wave: np.ndarray, sample_rate: int, filters: str) -> np.ndarray:
    """Run ``wave`` through an ffmpeg audio filter graph (the text of ``-af``), back at ``sample_rate``."""
    out = _pipe(_pcm_input(sample_rate).output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate,
                                               af=filters),
                np.ascontiguousarray(wave, np.float32).tobytes(), f"filter {filters!r}")
    return np.frombuffer(out, np.float32).copy()


def estimate_delay(reference: np.ndarray, edited: np.ndarray, max_lag: int, probe: int = 1 << 18) -> int:
    """Samples by which ``edited`` lags ``reference`` (in [-max_lag, max_lag]), by FFT cross-correlation."""
    n = min(len(reference), len(edited), probe)
    if n < 2 * max_lag + 1:
        return 0
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(edited[:n], size) * np.conj(np.fft.rfft(reference[:n], size))
    corr = np.fft.irfft(spectrum, size)
    lags = np.concatenate([corr[:max_lag + 1], corr[-max_lag:]])
    best = int(np.argmax(lags))
    return best if best <= max_lag else best - len(lags)


def align_to(reference: np.ndarray, edited: np.ndarray, max_lag: int) -> np.ndarray:
    """``edited`` shifted back by its delay against ``reference`` and cut or zero-padded to its length."""
    delay = estimate_delay(reference, edited, max_lag)
    shifted = edited[delay:] if delay >= 0 else np.concatenate([np.zeros(-delay, np.float32), edited])
    out = np.zeros(len(reference), np.float32)
    out[:min(len(out), len(shifted))] = shifted[:len(out)]
    return out


def transform_audio(wave: np.ndarray, sample_rate: int, *, filters: str | None = None, codec: str | None = None,
                    bitrate: str = "32k", align: bool = True, max_delay_seconds: float = 0.2) -> np.ndarray:
    """``wave`` through ``filters`` (ffmpeg ``-af``) and then a ``codec`` round trip; see the module docstring.

    Alignment uses the waveform itself, so it suits edits that keep the waveform's shape (codecs, EQ); for
    pitch shifts (rubberband keeps timing) only the length is fixed.
    """
    out = np.ascontiguousarray(wave, np.float32)
    if filters:
        out = filter_audio(out, sample_rate, filters)
    if codec:
        before = out
        out = codec_round_trip(out, sample_rate, codec, bitrate)
        if align:
            out = align_to(before, out, int(max_delay_seconds * sample_rate))
    if align and len(out) != len(wave):
        out = np.concatenate([out, np.zeros(max(0, len(wave) - len(out)), np.float32)])[:len(wave)]
    return out

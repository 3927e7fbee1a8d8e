"""On-the-fly audio edits in torch, on batches of views [B, N] (on the training device).

Each function does one edit and is exact about what it promises (the tests check it): :func:`mix_at_snr`
mixes at the requested SNR, :func:`change_speed` changes the length by the factor (band-limited FFT
resampling, pitch follows as on a tape), :func:`apply_response` applies a zero-phase magnitude response
(:func:`band_pass_response`: Butterworth-shaped slopes; :func:`random_eq_response`: a few random bells), and
:func:`reverb` convolves with a synthetic room (exponentially decaying noise after a direct path) by FFT.
:func:`augment_views` draws a random chain of them per view (:class:`AugmentOptions`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from avm.config import ranged


@dataclass
class AugmentOptions:
    """Probabilities and ranges of the edits (``train.augment`` of train=audio)."""

    spans: int = ranged(4, 1)  # windows (of model.audio.pooling.window) per view → 2·positions·spans embeddings per batch
    clean_anchor: float = ranged(0.5, 0.0, 1.0)  # probability that the first view of a pair is left unedited (like a reference)
    codec: float = ranged(0.35, 0.0, 1.0)  # probability that an edited view reads its track's codec variant (offline, ffmpeg)
    pitch: float = ranged(0.25, 0.0, 1.0)  # ... its pitch-shifted variant (offline, rubberband); at most one variant per view
    speed: float = ranged(0.3, 0.0, 1.0)  # probability of a speed change, factor 1 ± up to speed_range, pitch follows
    speed_range: float = ranged(0.10, 0.0, 0.5)
    # time offset between the two views: half of model.audio.query_step, the worst query/index grid misalignment
    max_offset_seconds: float = ranged(0.25, 0.0)
    # probability that a batch's second views are cut into separate one-window clips without context, as a
    # short query file (or a segment spliced between unrelated content) is seen at inference
    isolated_clips: float = ranged(0.25, 0.0, 1.0)
    reverb: float = ranged(0.3, 0.0, 1.0)
    rt60_seconds: tuple[float, float] = (0.2, 1.0)
    drr_db: tuple[float, float] = (-3.0, 12.0)  # direct-to-reverberant energy ratio
    eq: float = ranged(0.4, 0.0, 1.0)  # random bells of ±eq_db
    eq_db: float = ranged(12.0, 0.0)
    band_pass: float = ranged(0.2, 0.0, 1.0)  # a band-pass (phone, radio, small speaker)
    band_low_hz: tuple[float, float] = (150.0, 500.0)
    band_high_hz: tuple[float, float] = (2500.0, 6000.0)
    band_order: int = ranged(6, 1)
    mix: float = ranged(0.6, 0.0, 1.0)  # probability of mixing something in under the view
    snr_db: tuple[float, float] = (0.0, 20.0)
    mix_kinds: tuple[float, float, float] = (0.4, 0.3, 0.3)  # weights of noise, other music, speech
    gain: float = ranged(0.8, 0.0, 1.0)  # probability of a gain change of up to ±gain_db
    gain_db: float = ranged(12.0, 0.0)


def gain(x: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
    """``x`` [B, N] scaled by ``db`` [B] decibels."""
    return x * torch.pow(10.0, db / 20.0)[:, None]


def mix_at_snr(x: torch.Tensor, other: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """``x + g·other`` with ``g`` such that power(x) / power(g·other) is ``snr_db`` [B] decibels (per row)."""
    px = x.square().mean(dim=1)
    po = other.square().mean(dim=1).clamp_min(1e-12)
    g = torch.sqrt(px / (po * torch.pow(10.0, snr_db / 10.0)))
    return x + g[:, None] * other


def coloured_noise(rows: int, n: int, exponent: torch.Tensor, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """Gaussian noise [rows, n] with power spectrum ∝ 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    bins = n // 2 + 1
    spec = torch.randn(rows, bins, 2, generator=generator, device=device)
    freqs = torch.arange(bins, device=device, dtype=torch.float32).clamp_min(1.0)
    shape = freqs[None, :] ** (-exponent.to(device)[:, None] / 2.0)
    shape[:, 0] = 0.0
    noise = torch.fft.irfft(torch.complex(spec[..., 0], spec[..., 1]) * shape, n)
    return noise / noise.square().mean(dim=1, keepdim=True).sqrt().clamp_min(1e-12)


def filter_views(x: torch.Tensor, magnitude: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 ir: torch.Tensor | None = None, sample_rate: int = 16000) -> torch.Tensor:
    """Rows of ``x`` [B, N] through a zero-phase magnitude response and/or a causal impulse response, in one
    FFT: ``magnitude(freqs)`` → [B, F] gains at the given rfft frequencies (Hz), ``ir`` [B, K] (linear
    convolution, cut to N samples so that a direct path at lag 0 keeps the timing)."""
    n = x.shape[1] + (ir.shape[1] - 1 if ir is not None else 0)
    size = next_smooth(n)
    spectrum = torch.fft.rfft(x, size)
    if magnitude is not None:
        spectrum = spectrum * magnitude(rfft_freqs(size, sample_rate, x.device))
    if ir is not None:
        spectrum = spectrum * torch.fft.rfft(ir, size)
    return torch.fft.irfft(spectrum, size)[:, :x.shape[1]]


def match_rms(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``y`` scaled row by row to the RMS of ``like``."""
    def rms(z: torch.Tensor) -> torch.Tensor:
        return z.square().mean(dim=1, keepdim=True).sqrt()
    return y * (rms(like) / rms(y).clamp_min(1e-12))


def synthetic_ir(rt60: torch.Tensor, drr_db: torch.Tensor, sample_rate: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Room impulse responses [B, K]: a unit direct path, then noise decaying by 60 dB over ``rt60`` [B] seconds
    (from 2.5 ms on), scaled to a direct-to-reverberant ratio of ``drr_db`` [B]."""
    device = rt60.device
    k = int(float(rt60.max()) * sample_rate) + 1
    t = torch.arange(k, device=device, dtype=torch.float32)[None, :] / sample_rate
    decay = torch.exp(-math.log(1000.0) * t / rt60[:, None])
    tail = torch.randn(len(rt60), k, generator=generator, device=device) * decay
    tail[:, :max(1, int(0.0025 * sample_rate))] = 0.0
    tail = tail / tail.square().sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)
    ir = tail * torch.pow(10.0, -drr_db / 20.0)[:, None]
    ir[:, 0] = 1.0
    return ir


def reverb(x: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """``x`` convolved with ``ir`` (direct path at lag 0, so timing is kept), at the input's RMS."""
    return match_rms(filter_views(x, ir=ir), x)


def rfft_freqs(n: int, sample_rate: int, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.fft.rfftfreq(n, 1.0 / sample_rate, device=device)


def band_pass_response(freqs: torch.Tensor, low: torch.Tensor, high: torch.Tensor, order: int) -> torch.Tensor:
    """Butterworth-shaped band-pass magnitude [B, F]: high-pass at ``low`` [B] Hz, low-pass at ``high`` [B] Hz."""
    f = freqs[None, :].clamp_min(1e-3)
    hp = 1.0 / torch.sqrt(1.0 + (low[:, None] / f) ** (2 * order))
    lp = 1.0 / torch.sqrt(1.0 + (f / high[:, None]) ** (2 * order))
    return hp * lp


def random_eq_response(freqs: torch.Tensor, rows: int, max_db: float, bands: int = 3,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Magnitudes [rows, F] of ``bands`` random bells each: ±``max_db`` at log-uniform 60-7000 Hz, 0.3-1.5 octaves."""
    device = freqs.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(rows, bands, 1, generator=generator, device=device)

    centre = uniform(math.log2(60.0), math.log2(7000.0))
    width = uniform(0.3, 1.5)
    db = uniform(-max_db, max_db)
    octave = torch.log2(freqs.clamp_min(20.0))[None, None, :]
    total_db = (db * torch.exp(-0.5 * ((octave - centre) / width) ** 2)).sum(dim=1)
    return torch.pow(10.0, total_db / 20.0)


def is_smooth(n: int) -> bool:
    """Whether ``n`` has no prime factor above 7 (FFTs of such lengths are fast; a large prime makes them slow)."""
    for p in (2, 3, 5, 7):
        while n > 1 and n % p == 0:
            n //= p
    return n == 1


def next_smooth(n: int) -> int:
    """The smallest 7-smooth number ≥ ``n``: a fast FFT size."""
    while not is_smooth(n):
        n += 1
    return n


def nearest_smooth(n: int) -> int:
    """The 7-smooth number nearest to ``n`` (≥ 1)."""
    for d in range(n):
        for candidate in (n - d, n + d):
            if candidate >= 1 and is_smooth(candidate):
                return candidate
    return 1


def resample(x: np.ndarray, n_out: int) -> np.ndarray:
    """Band-limited resampling of a 1-D signal to ``n_out`` samples (FFT: spectrum cut or zero-padded).

    numpy, not torch: views are resampled one by one (each to its own length) while cutting them, and a
    single-threaded numpy FFT of one signal beats torch's threaded one. Lengths with no prime factor above 7
    keep it fast (see :func:`nearest_smooth`).
    """
    n_in = len(x)
    if n_out == n_in:
        return np.asarray(x, np.float32)
    spec = np.fft.rfft(x)
    bins = n_out // 2 + 1
    spec = spec[:bins] if bins <= len(spec) else np.concatenate([spec, np.zeros(bins - len(spec), spec.dtype)])
    return (np.fft.irfft(spec, n_out) * (n_out / n_in)).astype(np.float32)


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``x`` ``factor`` times faster (>1 shorter and higher, <1 longer and lower): ``round(N / factor)``
    samples."""
    return resample(x, int(round(len(x) / factor)))


Interference = Callable[[str, int, int], torch.Tensor]  # (kind, rows, samples) → signals [rows, samples]


def _subset(mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.flatnonzero(mask))


def augment_views(x: torch.Tensor, edited: np.ndarray, opts: AugmentOptions, sample_rate: int, rng: np.random.Generator,
                  interference: Interference, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply a random chain (EQ or band-pass, reverb → mix → gain) to the rows of ``x`` where ``edited``.

    EQ, band-pass and reverb share one FFT per view (:func:`filter_views`; filtered views keep their RMS).
    Speed changes, time offsets and the offline variants are applied when views are cut
    (:mod:`avm.train.audio.pairs`), since they change what is read from the track.
    """
    x = x.clone()
    rows = len(x)
    device = x.device

    def pick(p: float) -> np.ndarray:
        return edited & (rng.random(rows) < p)

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32, device=device)

    band = pick(opts.band_pass)
    eq = pick(opts.eq) & ~band
    room = pick(opts.reverb)
    filtered = band | eq | room
    if filtered.any():
        sub_band, sub_eq, sub_room = (torch.from_numpy(m[filtered]).to(device) for m in (band, eq, room))
        low = tensor(rng.uniform(*opts.band_low_hz, int(filtered.sum())))
        high = tensor(rng.uniform(*opts.band_high_hz, int(filtered.sum())))

        def magnitude(freqs: torch.Tensor) -> torch.Tensor:
            gains = torch.ones(len(low), len(freqs), device=device)
            gains[sub_band] = band_pass_response(freqs, low[sub_band], high[sub_band], opts.band_order)
            gains[sub_eq] = random_eq_response(freqs, int(sub_eq.sum()), opts.eq_db, generator=generator)
            return gains

        ir = None
        if room.any():
            rt60 = tensor(np.where(room[filtered], rng.uniform(*opts.rt60_seconds, len(low)), opts.rt60_seconds[0]))
            ir = synthetic_ir(rt60, tensor(rng.uniform(*opts.drr_db, len(low))), sample_rate, generator)
            ir[~sub_room, 1:] = 0.0  # a bare direct path: no room for these views
        idx = _subset(filtered)
        x[idx] = match_rms(filter_views(x[idx], magnitude, ir, sample_rate), x[idx])
    mixed = pick(opts.mix)
    if mixed.any():
        kinds = rng.choice(3, size=rows, p=np.asarray(opts.mix_kinds) / sum(opts.mix_kinds))
        for kind, name in enumerate(("noise", "music", "speech")):
            chosen = mixed & (kinds == kind)
            if chosen.any():
                idx = _subset(chosen)
                other = interference(name, len(idx), x.shape[1]).to(device)
                x[idx] = mix_at_snr(x[idx], other, tensor(rng.uniform(*opts.snr_db, len(idx))))
    loud = pick(opts.gain)
    if loud.any():
        idx = _subset(loud)
        x[idx] = gain(x[idx], tensor(rng.uniform(-opts.gain_db, opts.gain_db, len(idx))))
    return x

"""Front ends computed with torch on the model's device: log-mel spectrogram and frame preparation."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    """Triangular HTK-style mel filters as a [n_mels, n_fft // 2 + 1] matrix."""
    freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    low, high = _hz_to_mel(torch.tensor(f_min)).item(), _hz_to_mel(torch.tensor(f_max)).item()
    mel_points = torch.linspace(low, high, n_mels + 2)
    hz_points = _mel_to_hz(mel_points)
    lower, centre, upper = hz_points[:-2, None], hz_points[1:-1, None], hz_points[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


class LogMel(nn.Module):
    """Waveform [B, N] → log-mel [B, n_mels, frames] with ``hop`` samples between frames."""

    def __init__(self, sample_rate: int = 16000, n_fft: int = 512, win: int = 400, hop: int = 160,
                 n_mels: int = 64, f_min: float = 60.0, f_max: float = 7600.0) -> None:
        super().__init__()
        self.n_fft, self.win, self.hop = n_fft, win, hop
        self.register_buffer("window", torch.hann_window(win), persistent=False)
        self.register_buffer("filters", mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave, self.n_fft, hop_length=self.hop, win_length=self.win, window=self.window,
                          center=True, return_complex=True)
        power = spec.real.square() + spec.imag.square()
        return torch.log(torch.matmul(self.filters, power) + 1e-6)


def normalise_log_mel(log_mel: torch.Tensor, context_frames: int) -> torch.Tensor:
    """Remove gain and static EQ: subtract each frame's mean over bands and each band's running mean over time."""
    x = log_mel - log_mel.mean(dim=1, keepdim=True)
    if context_frames > 1:
        pad = context_frames // 2
        running = F.avg_pool1d(F.pad(x, (pad, context_frames - 1 - pad), mode="replicate"), context_frames, stride=1)
        x = x - running
    return x


def prepare_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 gray frames [N, H, W] → float [N, 1, size, size], each frame zero-mean and unit-variance."""
    x = frames.to(torch.float32).unsqueeze(1) / 255.0
    x = F.interpolate(x, size=(size, size), mode="area")
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True)
    return (x - mean) / (std + 1e-3)


"""Audio embedder: log-mel front end, a 2-D convolution stem and a 1-D temporal CNN; one embedding every 50 ms.

Design (why it looks like this):

- **Front end**: log-mel computed with torch on the model's device; each frame's mean over bands is removed
  (gain) and each band's running mean over ``norm_context_seconds`` (static EQ, stationary noise).
- **2-D stem** over (mel band, time): convolutions are equivariant along the mel axis, and each stage halves
  the frequency resolution, so a pitch shift of ±2 semitones (≈ 2 mel bands, also what a ±10 % speed change
  does) moves the stem's output by a fraction of one of its coarse bands. The time stride (10 ms → 50 ms) is
  in the second stage, so most of the work runs at 20 frames per second.
- **Temporal CNN**: the stem's (channels × coarse bands) feature map becomes the channels of a few 1-D
  convolutions over time (one dilated, residual); a final 1×1 projection gives ``dim`` values per frame.
- **Normalisation**: BatchNorm (batch statistics while training, a fixed affine map in eval mode), so
  inference is per time step and chunked inference stays exactly equal to one pass.
- **Limited receptive field** (see :attr:`AudioCNN.receptive_seconds`, about ±0.3 s plus the running
  mean), so that overlapping interval windows are pooled from one pass over a whole stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from avm.models.frontend import LogMel, normalise_log_mel


@dataclass(frozen=True)
class AudioCNNConfig:
    """Hyper-parameters of :class:`AudioCNN` (stored in checkpoints)."""

    sample_rate: int = 16000
    n_mels: int = 64
    f_min: float = 60.0  # mel bands span f_min..f_max (Hz)
    f_max: float = 7600.0
    hop: int = 160  # samples between log-mel frames (10 ms)
    norm_context_seconds: float = 2.0  # running band mean removed over this span (static EQ)
    stem_channels: int = 16  # channels of the first 2-D stage; each of the 3 stages doubles them
    channels: int = 256  # channels of the temporal CNN
    dim: int = 128
    stride: int = 5  # contextual hop = hop * stride samples (50 ms)
    activation: str = "gelu"


_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "gelu": nn.GELU, "relu": nn.ReLU}
_STEM_STAGES = 3  # each halves the mel axis


def _conv_block(conv: nn.Module, channels: int, act: type[nn.Module], dims: int) -> nn.Sequential:
    norm = nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    return nn.Sequential(conv, norm, act())


class _Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AudioCNN(nn.Module):
    """Waveform [B, N] → contextual embeddings [B, T, dim], one every ``hop_seconds`` (T = N // (hop·stride) + 1)."""

    modality = "audio"

    def __init__(self, config: AudioCNNConfig = AudioCNNConfig()) -> None:
        super().__init__()
        if config.n_mels % 2 ** _STEM_STAGES:
            raise ValueError(f"n_mels must be a multiple of {2 ** _STEM_STAGES}, got {config.n_mels}")
        self.config = config
        self.frontend = LogMel(sample_rate=config.sample_rate, hop=config.hop, n_mels=config.n_mels, f_min=config.f_min,
                               f_max=config.f_max)
        act, s, c1 = _ACTIVATIONS[config.activation], config.stride, config.stem_channels
        self.stem = nn.Sequential(
            _conv_block(nn.Conv2d(1, c1, (3, 5), stride=(2, 1), padding=(1, 2), bias=False), c1, act, 2),
            _conv_block(nn.Conv2d(c1, 2 * c1, (3, 2 * s - 1), stride=(2, s), padding=(1, s - 1), bias=False),
                        2 * c1, act, 2),
            _conv_block(nn.Conv2d(2 * c1, 4 * c1, (3, 3), stride=(2, 1), padding=(1, 1), bias=False), 4 * c1, act, 2),
        )
        flat, c = 4 * c1 * config.n_mels // 2 ** _STEM_STAGES, config.channels
        self.temporal = nn.Sequential(
            _conv_block(nn.Conv1d(flat, c, 3, padding=1, bias=False), c, act, 1),
            _Residual(_conv_block(nn.Conv1d(c, c, 3, padding=2, dilation=2, bias=False), c, act, 1)),
            nn.Conv1d(c, config.dim, 1),
        )

    @property
    def hop_seconds(self) -> float:
        return self.config.hop * self.config.stride / self.config.sample_rate

    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def receptive_seconds(self) -> float:
        """Half-width of the convolutions' receptive field along time, in seconds (without the running mean)."""
        half, jump = 0, 1  # in log-mel frames
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv2d)):
                kernel, dilation, stride = module.kernel_size[-1], module.dilation[-1], module.stride[-1]
                half += (kernel - 1) // 2 * dilation * jump
                jump *= stride
        return (half * self.config.hop + self.frontend.n_fft // 2) / self.config.sample_rate

    @property
    def context_samples(self) -> int:
        """Samples of context needed on each side of a chunk for exact chunked inference."""
        return int((self.receptive_seconds + self.config.norm_context_seconds / 2) * self.config.sample_rate) + \
            self.config.hop * self.config.stride

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        context = int(self.config.norm_context_seconds * self.config.sample_rate / self.config.hop)
        x = normalise_log_mel(self.frontend(wave), context).unsqueeze(1)  # [B, 1, mels, frames]
        x = self.stem(x)
        x = self.temporal(x.flatten(1, 2))  # (channels × coarse bands) → channels
        return x.transpose(1, 2)

"""Audio embedder: log-mel front end and a compact 1-D CNN giving contextual embeddings at a 50 ms hop."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from avm.models.frontend import LogMel, normalise_log_mel


@dataclass(frozen=True)
class AudioModelConfig:
    """Hyper-parameters of :class:`AudioEmbedder` (stored in checkpoints)."""

    sample_rate: int = 16000
    n_mels: int = 64
    hop: int = 160  # samples between log-mel frames (10 ms)
    norm_context_seconds: float = 3.0  # running band mean removed over this span (static EQ)
    channels: int = 256
    dim: int = 128
    stride: int = 5  # contextual hop = hop * stride samples (50 ms)
    # An odd activation without biases keeps an untrained network's outputs centred (no shared offset
    # that would push every cosine similarity towards 1); a trained model may choose otherwise.
    activation: str = "tanh"


_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "gelu": nn.GELU, "relu": nn.ReLU}


class AudioEmbedder(nn.Module):
    """Waveform [B, N] → contextual embeddings [B, T, dim], one every ``hop_seconds``.

    The receptive field is limited (about 0.35 s) so that overlapping interval windows can be pooled
    from one pass over a whole stream.
    """

    modality = "audio"

    def __init__(self, config: AudioModelConfig = AudioModelConfig()) -> None:
        super().__init__()
        self.config = config
        self.frontend = LogMel(sample_rate=config.sample_rate, hop=config.hop, n_mels=config.n_mels)
        c, act = config.channels, _ACTIVATIONS[config.activation]
        self.encoder = nn.Sequential(
            nn.Conv1d(config.n_mels, c, kernel_size=5, padding=2, bias=False), act(),
            nn.Conv1d(c, c, kernel_size=config.stride * 2 - 1, stride=config.stride, padding=config.stride - 1,
                      bias=False),
            act(),
            nn.Conv1d(c, c, kernel_size=3, padding=2, dilation=2, bias=False), act(),
            nn.Conv1d(c, config.dim, kernel_size=1, bias=False),
        )

    @property
    def hop_seconds(self) -> float:
        return self.config.hop * self.config.stride / self.config.sample_rate

    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def context_samples(self) -> int:
        """Samples of context needed on each side of a chunk for exact chunked inference."""
        frames = 2 + self.config.stride + 2 * self.config.stride  # conv1 + strided conv + dilated conv
        return int(frames * self.config.hop + self.config.norm_context_seconds * self.config.sample_rate / 2)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        context = int(self.config.norm_context_seconds * self.config.sample_rate / self.config.hop)
        x = normalise_log_mel(self.frontend(wave), context)
        return self.encoder(x).transpose(1, 2)

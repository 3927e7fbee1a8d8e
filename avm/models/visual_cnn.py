"""Learned visual embedder: a compact strided CNN on 64x64 gray thumbnails, exactly mirror invariant.

Design (why it looks like this):

- **Input**: the decoded gray frame (any size; black bars already cropped by avm.media) is area-resized to
  ``input_size`` x ``input_size`` and normalised to zero mean and unit variance (brightness, contrast). A frame
  squeezed by letterbox/pillarbox bars comes back to the same square, so aspect changes cost nothing.
- **Trunk**: strided 3x3 convolutions (BatchNorm, ReLU) from 64x64 down to a 4x4 grid of ``channels[-1]``
  features; about 8 M multiply-adds per pass, so one frame (two passes, below) costs well under 1 ms on one
  CPU core in batches.
- **Head**: a linear map of the whole 4x4 grid (layout) plus a linear map of its generalised-mean pool
  (content wherever it is: picture-in-picture, crops), summed.
- **Mirror invariance, exact**: ``embed(x) = normalise(g(x) + g(flip(x)))`` where ``g`` is the trunk and head.
  ``flip(x)`` is made from the uint8 frame before any arithmetic and ``g`` runs on the frames and on their
  mirror images in two calls of the same shape, so ``embed(flip(x))`` adds the same two vectors in the other
  order: bit for bit the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from avm.models.frontend import prepare_frames


@dataclass(frozen=True)
class VisualCNNConfig:
    """Hyper-parameters of :class:`VisualCNN` (stored in checkpoints)."""

    input_size: int = 64  # frames are area-resized to input_size x input_size (a multiple of 16)
    channels: tuple[int, int, int, int] = (16, 32, 64, 128)  # widths at 1/2, 1/4, 1/8 and 1/16 of input_size
    dim: int = 128
    gem_p: float = 3.0  # initial exponent of the generalised-mean pool (learned)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.input_size % 16 or len(self.channels) != 4:
            raise ValueError(f"input_size must be a multiple of 16 and channels 4 widths, got {self.input_size}, "
                             f"{self.channels}")


def _conv(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class VisualCNN(nn.Module):
    """Gray frames [N, H, W] (uint8, or float in 0..255) → L2-normalised embeddings [N, dim], one per frame."""

    modality = "visual"
    inference_chunk = 128  # frames per pass in eval mode: larger batches run slower on a CPU (cache misses)

    def __init__(self, config: VisualCNNConfig = VisualCNNConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3, c4 = config.channels
        self.trunk = nn.Sequential(_conv(1, c1, 2), _conv(c1, c2, 2), _conv(c2, c2, 1), _conv(c2, c3, 2),
                                   _conv(c3, c3, 1), _conv(c3, c4, 2))
        grid = config.input_size // 16
        self.layout = nn.Linear(c4 * grid * grid, config.dim)
        self.content = nn.Linear(c4, config.dim, bias=False)
        self.gem_p = nn.Parameter(torch.tensor(float(config.gem_p)))

    @property
    def dim(self) -> int:
        return self.config.dim

    def branch(self, frames: torch.Tensor) -> torch.Tensor:
        """The unnormalised, not mirror-symmetrised embedding ``g`` [N, dim] of frames [N, H, W]."""
        x = self.trunk(prepare_frames(frames, self.config.input_size))
        p = self.gem_p.clamp(1.0, 8.0)
        gem = x.clamp_min(1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p)
        return self.layout(x.flatten(1)) + self.content(gem)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if not self.training and len(frames) > self.inference_chunk:  # same result, activations stay in cache
            return torch.cat([self(part) for part in frames.split(self.inference_chunk)])
        return F.normalize(self.branch(frames) + self.branch(frames.flip(-1)), dim=1)

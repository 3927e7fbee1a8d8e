"""Visual embedder: frames → per-frame embeddings (one per decoded frame)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from avm.models.frontend import prepare_frames


@dataclass(frozen=True)
class VisualTinyConfig:
    """Hyper-parameters of :class:`VisualTiny` (stored in checkpoints)."""

    input_size: int = 32  # frames are area-resized to input_size x input_size
    grid: int = 16  # pooled grid of the "tiny image" descriptor
    dim: int = 128


def _orthogonal_rows(rows: int, cols: int) -> torch.Tensor:
    """A random matrix with orthonormal rows from torch's seeded generator.

    QR runs in float64 and the result is rounded to float32, so the weights (and so the model version) do
    not depend on how many threads LAPACK used.
    """
    q, r = torch.linalg.qr(torch.randn(cols, rows, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).T.to(torch.float32).contiguous()


class VisualTiny(nn.Module):
    """Gray uint8 frames [N, H, W] → embeddings [N, dim] (one per frame, at the decoded frame rate).

    The untrained version is a "tiny image" descriptor: each frame normalised for brightness and contrast,
    pooled to a ``grid`` x ``grid`` thumbnail and projected to ``dim`` by a fixed orthogonal matrix.
    """

    modality = "visual"

    def __init__(self, config: VisualTinyConfig = VisualTinyConfig()) -> None:
        super().__init__()
        self.config = config
        self.pool = nn.AdaptiveAvgPool2d(config.grid)
        self.project = nn.Linear(config.grid * config.grid, config.dim, bias=False)
        with torch.no_grad():
            self.project.weight.copy_(_orthogonal_rows(config.dim, config.grid * config.grid))

    @property
    def dim(self) -> int:
        return self.config.dim

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.pool(prepare_frames(frames, self.config.input_size))
        return self.project(x.flatten(1))

"""NT-Xent (SimCLR's normalised temperature-scaled cross entropy) with in-batch negatives."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class PairStats:
    """How well a batch separates: mean cosine of positive pairs, and the share of embeddings whose nearest
    other embedding in the batch is their positive (in-batch top-1 accuracy)."""

    positive_cosine: float
    top1: float


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> tuple[torch.Tensor, PairStats]:
    """Loss of L2-normalised embeddings ``a`` [N, D] and ``b`` [N, D], where row i of each is a positive pair.

    Each of the 2N embeddings must pick its positive among the 2N - 1 others (the other 2N - 2 are negatives).
    """
    z = torch.cat([a, b])
    n = len(a)
    sim = z @ z.T
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    loss = F.cross_entropy(sim / temperature, target)
    with torch.no_grad():
        stats = PairStats(float((a * b).sum(dim=1).mean()), float((sim.argmax(dim=1) == target).float().mean()))
    return loss, stats

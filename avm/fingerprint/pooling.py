"""Interval embeddings: mean-pool overlapping windows of contextual embeddings, then L2-normalise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class PoolingOptions:
    """Interval window and step, in seconds."""

    window: float = 2.0
    step: float = 1.0
    min_window_fraction: float = 0.5  # a stream shorter than the window still gets one interval if this long


def pool_intervals(context: torch.Tensor, hop_seconds: float, opts: PoolingOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool contextual embeddings [T, D] (one every ``hop_seconds``) into windows; return t_start, t_end, vectors.

    Windows are computed from one cumulative sum, so overlapping windows cost O(T) whatever the overlap.
    """
    n_frames, dim = context.shape
    width = max(1, round(opts.window / hop_seconds))
    stride = max(1, round(opts.step / hop_seconds))
    if n_frames < width:
        if n_frames == 0 or n_frames < opts.min_window_fraction * width:
            empty = np.zeros(0, np.float32)
            return empty, empty, np.zeros((0, dim), np.float16)
        width = n_frames
    cumulative = torch.cat([context.new_zeros(1, dim), context.float().cumsum(dim=0)])
    starts = torch.arange(0, n_frames - width + 1, stride, device=context.device)
    pooled = (cumulative[starts + width] - cumulative[starts]) / width
    pooled = torch.nn.functional.normalize(pooled, dim=1)
    t_start = starts.cpu().numpy().astype(np.float32) * np.float32(hop_seconds)
    return t_start, t_start + np.float32(width * hop_seconds), pooled.cpu().numpy().astype(np.float16)

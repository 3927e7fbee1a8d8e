"""Interval embeddings: mean-pool overlapping windows of contextual embeddings, then L2-normalise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avm.config import ranged


@dataclass
class PoolingOptions:
    """Interval window and step, in seconds."""

    window: float = ranged(2.0, 0.1)
    step: float = ranged(1.0, 0.1)
    min_window_fraction: float = ranged(0.5, 0.0, 1.0)  # a stream shorter than the window still gets one interval if this long


def pool_intervals(context: torch.Tensor, hop_seconds: float, opts: PoolingOptions, first_frame: int = 0,
                   stop_frame: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool contextual embeddings [T, D] (one every ``hop_seconds``) into windows; return t_start, t_end, vectors.

    ``context[0]`` is frame ``first_frame`` of the stream (a piece of a long file; a multiple of the step), and
    only windows starting before ``stop_frame`` are pooled: the pieces of a stream, pooled one by one, give the
    windows of the whole stream. Windows are computed from one cumulative sum, so overlapping windows cost O(T)
    whatever the overlap.
    """
    n_frames, dim = context.shape
    width = max(1, round(opts.window / hop_seconds))
    stride = max(1, round(opts.step / hop_seconds))
    if first_frame % stride:
        raise ValueError(f"a piece starting at frame {first_frame} is off the {stride}-frame step grid")
    empty = np.zeros(0, np.float32)
    if n_frames < width:  # a stream shorter than one window (a later piece of a stream: no window starts here)
        if first_frame or n_frames == 0 or n_frames < opts.min_window_fraction * width:
            return empty, empty, np.zeros((0, dim), np.float16)
        width = n_frames
    cumulative = torch.cat([context.new_zeros(1, dim), context.float().cumsum(dim=0)])
    last_start = n_frames - width if stop_frame is None else min(n_frames - width, stop_frame - first_frame - 1)
    starts = torch.arange(0, last_start + 1, stride, device=context.device)
    pooled = (cumulative[starts + width] - cumulative[starts]) / width
    pooled = torch.nn.functional.normalize(pooled, dim=1)
    t_start = (starts.cpu().numpy() + first_frame).astype(np.float32) * np.float32(hop_seconds)
    return t_start, t_start + np.float32(width * hop_seconds), pooled.cpu().numpy().astype(np.float16)

"""Batches of training pairs: two differently edited views of the same picture (a still or a video frame).

A pair starts from a *reference box*: a whole training frame or, as when a video pans over a photo, a part
of it. The first view renders that box (edited or not, like a reference), the second renders it panned,
zoomed, cropped and mirrored, then edited (:func:`avm.train.visual.augment.edit_views`). Pictures of one
batch are distinct files, so every other view in the batch is a true negative; the backgrounds of
picture-in-picture views and the logos are other training pictures, so a view shares content with some
negatives, which makes them hard.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

from avm.train.visual.augment import AugmentOptions, Draw, crop_boxes, edit_views, jitter_boxes, render
from avm.train.visual.data import Corpus, Picture


class PairSampler:
    """Draws pictures and renders, edits and augments two views of each (values 0..255, 8-bit steps)."""

    def __init__(self, corpus: Corpus, opts: AugmentOptions, seed: int = 0) -> None:
        self.pictures: list[Picture] = [p for p in corpus.train if len(p.frames)]
        if len(self.pictures) < 2:
            raise ValueError(f"need at least 2 training pictures with frames, got {len(self.pictures)}")
        self.opts = opts
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random streams (a resumed run reseeds with its step, so it does not replay old batches)."""
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)

    def _frames(self, files: np.ndarray, device: torch.device) -> torch.Tensor:
        """One random frame of each file, as sources [n, 1, S, S] in 0..1."""
        frames = [self.pictures[f].frames[self.rng.integers(len(self.pictures[f].frames))] for f in files]
        return torch.from_numpy(np.stack(frames)).to(device).float().unsqueeze(1) / 255.0

    def _reference_boxes(self, n: int, draw: Draw) -> torch.Tensor:
        """Whole frames, or parts of them (``part_side`` of each axis, anywhere)."""
        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0]], device=draw.device).repeat(n, 1)
        part = draw.index(draw.mask(n, 1 - self.opts.full_frame))
        if len(part):
            side = draw.uniform(*self.opts.part_side, 2 * len(part)).view(-1, 2)
            start = draw.uniform(0, 1, 2 * len(part)).view(-1, 2) * (1 - side)
            boxes[part] = torch.cat([start, start + side], dim=1)
        return boxes

    def sample(self, positions: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Two batches of views [n, size, size] (n = min(positions, pictures)): row i of each shows the same
        picture."""
        opts, device = self.opts, torch.device(device)
        draw = Draw(self.rng, self.generator if device.type == "cpu" else None, device)
        n = min(positions, len(self.pictures))
        files = self.rng.choice(len(self.pictures), size=n, replace=False)
        sources = self._frames(files, device)
        others = render(self._frames(self.rng.integers(len(self.pictures), size=n), device),
                        self._reference_boxes(n, draw), opts.view_size)
        boxes = self._reference_boxes(n, draw)
        edited_a = draw.mask(n, 1 - opts.clean_anchor)
        boxes_a = boxes.clone()
        if edited_a.any():
            idx = draw.index(edited_a)
            boxes_a[idx] = jitter_boxes(boxes[idx], opts.jitter, draw)
        boxes_b = jitter_boxes(boxes, opts.jitter, draw)
        cropped = draw.index(draw.mask(n, opts.crop))
        if len(cropped):
            keep = draw.uniform(*opts.crop_keep, len(cropped))
            boxes_b[cropped] = crop_boxes(boxes_b[cropped], keep, draw.uniform(0, 1, 2 * len(cropped)).view(-1, 2))
        flip = torch.from_numpy(draw.mask(n, opts.flip)).to(device)
        a = edit_views(render(sources, boxes_a, opts.view_size), edited_a, opts, others, draw)
        b = edit_views(render(sources, boxes_b, opts.view_size, flip), np.ones(n, bool), opts, others, draw)
        return (a * 255).round().squeeze(1), (b * 255).round().squeeze(1)


class PairBatches:
    """The visual training task (:class:`avm.train.loop.PairTask`): embeddings of both views of a batch.

    The next batch is drawn in a background thread while the model trains on the current one (torch releases
    the GIL), so drawing costs little wall-clock time.
    """

    def __init__(self, sampler: PairSampler, positions: int) -> None:
        self.sampler, self.positions = sampler, positions
        self._pool = ThreadPoolExecutor(1)
        self._next: Future | None = None

    def describe(self) -> str:
        return (f"{len(self.sampler.pictures)} pictures, {min(self.positions, len(self.sampler.pictures))} pairs of "
                f"{self.sampler.opts.view_size} px views per batch")

    def reseed(self, seed: int) -> None:
        if self._next is not None:
            self._next.result()
            self._next = None
        self.sampler.reseed(seed)

    def embed(self, model: nn.Module, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self._next.result() if self._next is not None else self.sampler.sample(self.positions, device)
        self._next = self._pool.submit(self.sampler.sample, self.positions, device)
        return model(torch.cat(batch)).chunk(2)

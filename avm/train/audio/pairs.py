"""Batches of training pairs: two differently edited views of the same place in a track.

A view is ``spans`` consecutive pooled windows (about 1 s each) between ``context`` samples on each side, the
context the model needs for its receptive field and running normalisation, so the model sees exactly what it
sees at inference. Its embeddings are the mean pool of the contextual embeddings over each window, L2
normalised (:meth:`ViewGeometry.pool`, the same arithmetic as :func:`avm.fingerprint.pool_intervals`).
Several windows per view share one context, which makes a step cheaper; neighbouring windows of a view are
in-batch negatives of each other, which teaches the model to tell adjacent seconds apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from avm.train.audio.augment import AugmentOptions, augment_views, coloured_noise, is_smooth, nearest_smooth, resample
from avm.train.audio.data import Corpus, Track, track_weights


@dataclass(frozen=True)
class ViewGeometry:
    """Layout of one view in samples; ``window`` and ``context`` are multiples of the model's hop."""

    window: int
    spans: int
    context: int
    hop: int

    @classmethod
    def for_model(cls, model: torch.nn.Module, window_seconds: float, spans: int) -> ViewGeometry:
        """The model's context rounded up to whole hops, and further until the view's length is FFT-friendly."""
        rate = model.config.sample_rate
        hop = int(round(model.hop_seconds * rate))
        window = max(1, round(window_seconds * rate / hop)) * hop
        context = -(-model.context_samples // hop) * hop
        while not is_smooth(spans * window + 2 * context):
            context += hop
        return cls(window, spans, context, hop)

    @property
    def length(self) -> int:
        return self.spans * self.window + 2 * self.context

    def pool(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Contextual embeddings [B, T, D] of views → L2-normalised window embeddings [B * spans, D]."""
        first, width = self.context // self.hop, self.window // self.hop
        pooled = embeddings[:, first:first + self.spans * width].unflatten(1, (self.spans, width)).mean(dim=2)
        return F.normalize(pooled.flatten(0, 1), dim=1)

    def clips(self, views: torch.Tensor) -> torch.Tensor:
        """Views [B, length] → their windows as separate clips [B * spans, window], without any context."""
        return views[:, self.context:self.context + self.spans * self.window].reshape(-1, self.window)

    def pool_clips(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Contextual embeddings [B * spans, T, D] of :meth:`clips` → L2-normalised embeddings [B * spans, D]
        (in the order of :meth:`pool`; a clip of one window pools like a one-window query file)."""
        return F.normalize(embeddings[:, :self.window // self.hop].mean(dim=1), dim=1)


class PairSampler:
    """Draws positions in the training tracks and cuts, edits and augments two views of each."""

    def __init__(self, corpus: Corpus, geometry: ViewGeometry, opts: AugmentOptions, seed: int = 0) -> None:
        self.geometry, self.opts, self.rate = geometry, opts, corpus.sample_rate
        half_view = geometry.length / 2 * (1 + opts.speed_range)
        self.margin = int(math.ceil(half_view + opts.max_offset_seconds * self.rate)) + 1
        self.tracks = [t for t in corpus.train if t.samples > 2 * self.margin + 1]
        if not self.tracks:
            raise ValueError(f"no training track is longer than a view ({2 * self.margin / self.rate:.1f} s)")
        self.weights = track_weights(self.tracks)
        self.speech = [s for s in corpus.interference if len(s) > 0]
        self.reseed(seed)
        # white to brown noise, made once (a fresh FFT per view and step costs as much as the rest of a batch)
        colours = np.linspace(0.0, 2.0, 9)
        bank = coloured_noise(len(colours), 4 * geometry.length, torch.from_numpy(colours).float(), self.generator)
        self.noise = [n.numpy() for n in bank]

    def reseed(self, seed: int) -> None:
        """Restart the random streams (a resumed run reseeds with its step, so it does not replay old batches)."""
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)

    def _source(self, track: Track, edited: bool) -> np.ndarray:
        """The clean track or, for an edited view, possibly one of its offline variants."""
        if not edited or not track.variants:
            return track.clean
        u = self.rng.random()
        for family, p in (("pitch", self.opts.pitch), ("codec", self.opts.codec)):
            labels = [k for k in track.variants if k.startswith("pitch") == (family == "pitch")]
            if u < p and labels:
                return track.variants[labels[self.rng.integers(len(labels))]]
            u -= p
        return track.clean

    def _cut(self, signal: np.ndarray, centre: int, factor: float) -> torch.Tensor:
        """``length`` samples around ``centre``, played ``factor`` times faster (read ``length·factor`` samples)."""
        length = self.geometry.length
        n_in = nearest_smooth(int(round(length * factor))) if factor != 1.0 else length
        start = centre - n_in // 2
        piece = np.asarray(signal[start:start + n_in], dtype=np.float32)
        return torch.from_numpy(resample(piece, length) if n_in != length else piece)

    def _random_segment(self, signals: list[np.ndarray], n: int) -> torch.Tensor:
        signal = signals[self.rng.integers(len(signals))]
        if len(signal) < n:
            signal = np.tile(signal, -(-n // len(signal)))
        start = self.rng.integers(len(signal) - n + 1)
        return torch.from_numpy(np.asarray(signal[start:start + n], dtype=np.float32))

    def interference(self, kind: str, rows: int, n: int) -> torch.Tensor:
        """Signals to mix in: coloured noise (random excerpts of a bank), other training music, or speech (music
        when there is none)."""
        if kind == "noise":
            pool = self.noise
        else:
            pool = self.speech if kind == "speech" and self.speech else [t.clean for t in self.tracks]
        return torch.stack([self._random_segment(pool, n) for _ in range(rows)])

    def sample(self, positions: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Two batches of views [positions, length]: row i of each shows the same place in a track.

        With probability ``isolated_clips`` the second batch comes as :meth:`ViewGeometry.clips` instead
        [positions * spans, window]: each window alone, as a short query file is fingerprinted.
        """
        opts, views = self.opts, {"a": [], "b": []}
        edited = {"a": self.rng.random(positions) >= opts.clean_anchor, "b": np.ones(positions, bool)}
        for i in range(positions):
            track = self.tracks[self.rng.choice(len(self.tracks), p=self.weights)]
            centre = int(self.rng.integers(self.margin, track.samples - self.margin))
            for name in ("a", "b"):
                is_edited = bool(edited[name][i])
                factor = 1.0
                if is_edited and self.rng.random() < opts.speed:
                    factor = 1.0 + self.rng.uniform(-opts.speed_range, opts.speed_range)
                shift = 0 if name == "a" else int(self.rng.uniform(-1, 1) * opts.max_offset_seconds * self.rate)
                views[name].append(self._cut(self._source(track, is_edited), centre + shift, factor))
        a, b = (augment_views(torch.stack(views[name]).to(device), edited[name], opts, self.rate, self.rng,
                              self.interference, self.generator if torch.device(device).type == "cpu" else None)
                for name in ("a", "b"))
        return (a, self.geometry.clips(b)) if self.rng.random() < opts.isolated_clips else (a, b)


class PairBatches:
    """The audio training task (:class:`avm.train.loop.PairTask`): pooled window embeddings of both views."""

    def __init__(self, sampler: PairSampler, geometry: ViewGeometry, positions: int) -> None:
        self.sampler, self.geometry, self.positions = sampler, geometry, positions

    def describe(self) -> str:
        g, rate = self.geometry, self.sampler.rate
        return (f"{len(self.sampler.tracks)} tracks, views of {g.length / rate:.2f} s ({g.spans} windows of "
                f"{g.window / rate:.2f} s), {2 * self.positions * g.spans} embeddings per batch")

    def reseed(self, seed: int) -> None:
        self.sampler.reseed(seed)

    def embed(self, model: nn.Module, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.sampler.sample(self.positions, device)
        if b.shape == a.shape:
            return self.geometry.pool(model(torch.cat([a, b]))).chunk(2)
        # the second views come as separate one-window clips
        return self.geometry.pool(model(a)), self.geometry.pool_clips(model(b))


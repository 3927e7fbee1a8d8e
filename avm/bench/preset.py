"""Benchmark presets: every size and share that shapes a generated benchmark (durations in whole seconds)."""

from __future__ import annotations

from dataclasses import dataclass

from avm.bench.compose import Canvas

Range = tuple[int, int]


@dataclass
class Preset:
    """What to build. Ranges are inclusive ``(low, high)`` pairs drawn uniformly unless said otherwise.

    Catalog: ``n_refs`` references (copied by queries) and ``n_distractors`` videos never copied, each
    ``catalog_seconds`` long, cut into shots of ``shot_seconds`` from ``visuals_per_video`` visual sources of its
    own, over one excerpt of music or (a ``speech_share`` of the videos) speech of its own.
    Queries: ``n_pirated`` carry ``borrows_per_query`` segments of ``borrow_seconds`` (log-uniform) from
    ``refs_per_query`` references between fillers of ``filler_seconds``; ``n_negative`` are
    ``negative_seconds`` of filler only. Fillers and the media edits lay over come from sources kept out of the
    catalog: at least ``filler_share`` of the visuals and of the music and speech files.
    Edits: each segment gets ``edits_per_segment`` compatible edits of ``edit_kinds`` (None: all); every kind
    is dealt at least ``min_per_kind`` times when the slots allow; the other slots are hard edits with
    probability ``hard_share``.
    """

    name: str = "small"
    n_refs: int = 3
    n_distractors: int = 1
    n_pirated: int = 6
    n_negative: int = 1
    catalog_seconds: Range = (30, 45)
    shot_seconds: Range = (6, 15)
    visuals_per_video: Range = (1, 2)
    speech_share: float = 0.25
    borrow_seconds: Range = (5, 14)
    borrows_per_query: Range = (1, 2)
    refs_per_query: Range = (1, 2)
    filler_seconds: Range = (3, 6)
    negative_seconds: Range = (15, 25)
    edits_per_segment: Range = (2, 3)
    edit_kinds: tuple[str, ...] | None = None
    min_per_kind: int = 1
    hard_share: float = 0.3
    filler_share: float = 0.3
    width: int = 640
    height: int = 360
    fps: int = 25

    @property
    def canvas(self) -> Canvas:
        return Canvas(width=self.width, height=self.height, fps=self.fps)

    @property
    def n_catalog(self) -> int:
        return self.n_refs + self.n_distractors

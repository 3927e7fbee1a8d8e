"""Benchmark presets: every size and share that shapes a generated benchmark (durations in whole seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field

from avm.bench.compose import Canvas
from avm.bench.edits import EDITS
from avm.config import one_of, ranged

Range = tuple[int, int]


@dataclass
class Preset:
    """What to build. Ranges are inclusive ``(low, high)`` pairs drawn uniformly unless said otherwise.

    Catalog: ``n_refs`` references (copied by queries) and ``n_distractors`` videos never copied, each
    ``catalog_seconds`` long, cut into shots of ``shot_seconds`` from ``visuals_per_video`` visual sources of its
    own, over one excerpt of music or (a ``speech_share`` of the videos) speech of its own.
    Shared content (what every series, news or sports catalog has; all off by default): an intro of
    ``intro_seconds`` opens an ``intro_share`` of the catalog videos (references and distractors alike), an
    outro of ``outro_seconds`` closes an ``outro_share`` of them (both add to ``catalog_seconds``, the body),
    and a channel logo (a small semi-transparent still in one fixed corner) lies over the whole of a
    ``logo_share`` of them. Intro, outro and logo are made of sources no other catalog video and no query
    uses; no borrowed segment overlaps an intro or outro, so the ground truth never holds shared content.
    Queries: ``n_pirated`` carry ``borrows_per_query`` segments of ``borrow_seconds`` (log-uniform) from
    ``refs_per_query`` references between fillers of ``filler_seconds``; ``n_negative`` are
    ``negative_seconds`` of filler only, and ``n_negative_shared`` more are fillers that carry the shared
    content (the intro and/or outro spliced in, some lightly edited, or the channel logo over them), with no
    ground truth either. Fillers and the media edits lay over come from sources kept out of the catalog: at
    least ``filler_share`` of the visuals and of the music and speech files.
    Edits: each segment gets ``edits_per_segment`` compatible edits of ``edit_kinds`` (None: all). First every
    hand of ``combos`` (lists of compatible kinds, e.g. ``[new_audio, crop, hflip]``) is dealt whole to
    ``min_per_combo`` segments of its own; then every kind is dealt at least ``min_per_kind`` times when the
    slots allow; the other slots are hard edits with probability ``hard_share``. ``edit_ranges`` overrides
    the ranges edit parameters are drawn from, per kind and parameter (e.g. ``{speed: {change: [0.12,
    0.25]}}``; the defaults and parameter names are each kind's ``ranges`` in ``avm.bench.edits.EDITS``; on the
    command line a kind the preset does not list yet takes a leading ``+``:
    ``+bench.edit_ranges.speed.change=[0.2,0.3]``).
    """

    name: str = "small"
    n_refs: int = ranged(3, 1)
    n_distractors: int = ranged(1, 0)
    n_pirated: int = ranged(6, 0)
    n_negative: int = ranged(1, 0)
    catalog_seconds: Range = (30, 45)
    shot_seconds: Range = (6, 15)
    visuals_per_video: Range = (1, 2)
    speech_share: float = ranged(0.25, 0.0, 1.0)
    borrow_seconds: Range = (5, 14)
    borrows_per_query: Range = (1, 2)
    refs_per_query: Range = (1, 2)
    filler_seconds: Range = (3, 6)
    negative_seconds: Range = (15, 25)
    edits_per_segment: Range = (2, 3)
    edit_kinds: tuple[str, ...] | None = one_of(None, tuple(EDITS))
    min_per_kind: int = ranged(1, 0)
    hard_share: float = ranged(0.3, 0.0, 1.0)
    filler_share: float = ranged(0.3, 0.0, 1.0)
    edit_ranges: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    combos: list[list[str]] = field(default_factory=list)
    min_per_combo: int = ranged(1, 0)
    intro_seconds: int = ranged(0, 0)
    intro_share: float = ranged(0.0, 0.0, 1.0)
    outro_seconds: int = ranged(0, 0)
    outro_share: float = ranged(0.0, 0.0, 1.0)
    logo_share: float = ranged(0.0, 0.0, 1.0)
    n_negative_shared: int = ranged(0, 0)
    width: int = ranged(640, 16)
    height: int = ranged(360, 16)
    fps: int = ranged(25, 1)

    @property
    def canvas(self) -> Canvas:
        return Canvas(width=self.width, height=self.height, fps=self.fps)

    @property
    def n_catalog(self) -> int:
        return self.n_refs + self.n_distractors

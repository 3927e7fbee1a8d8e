"""Options of the match stage, one class per step, and the ``match`` config group that builds them per modality."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field

from avm.config import ranged
from avm.schema import MODALITIES


@dataclass
class AlignOptions:
    """Temporal alignment of k-NN hits into segments (:mod:`avm.match.align`), and what is reported."""

    min_similarity: float = ranged(0.5, -1.0, 1.0)  # hits below this similarity are ignored (a floor under the calibrated threshold)
    offset_tolerance: float = ranged(1.0, 0.0)  # seconds: hits within this of a line are consistent with it
    # lines with speed (reference s per query s) in [min_speed, max_speed]: a copy played up to 25 % slower
    # or 33 % faster (1 / 0.75); 1 for both: plain copies only
    min_speed: float = ranged(0.75, 0.1, 1.0)
    max_speed: float = ranged(1.33, 1.0, 10.0)
    # candidate speeds lie evenly in log speed, no further apart than a factor 1 + this (0: speed 1 only)
    speed_step: float = ranged(0.005, 0.0, 0.5)
    max_gap: float = ranged(4.0, 0.0)  # seconds without a consistent hit that end a segment
    min_duration: float = ranged(4.0, 0.0)  # shortest segment reported (query side, seconds)
    min_hits: int = ranged(3, 1)  # fewest consistent hits in a reported segment
    min_score: float = ranged(0.0, -1.0, 1.0)  # lowest segment score reported (after refinement: the mean similarity along the copy)
    # a query interval whose hits reach this many different references is recurring content (a jingle, a
    # station logo, silence, a black frame): its hits are ignored (0: never)
    recurring_references: int = ranged(4, 0)
    max_segments_per_query: int = ranged(50, 1)
    suppress_overlap: float = ranged(0.5, 0.0, 1.0)  # a weaker segment of the same pair overlapping a stronger one by more is dropped
    # share of an interval's window that must lie inside a copy for the interval to match (a property of the
    # model: 0.5 when a window matches once most of it is copied, 1.0 when only wholly copied windows match);
    # it sets how far a run's outer hits are moved to estimate the copy's boundaries
    window_overlap: float = ranged(0.5, 0.0, 1.0)


@dataclass
class RefineOptions:
    """Refinement of each segment along its line against the reference's fingerprints (:mod:`avm.match.refine`).

    Intervals whose similarity to the reference position the line maps them to reaches ``track_similarity``
    belong to the copy; a copy starts and ends on intervals at or above ``edge_similarity``. Both are floors
    under the values calibrated from the impostor similarities (:class:`CalibrationOptions`).
    """

    enabled: bool = True  # off: aligned segments stay as they are; fusion's line support leaves the modality out
    track_similarity: float = ranged(0.0, -1.0, 1.0)
    edge_similarity: float = ranged(0.0, -1.0, 1.0)
    # a copy's first and last intervals must also reach this fraction of the way from track_similarity up to
    # the median track along the copy (0: off): a window half inside a clean copy still scores high, so an
    # absolute edge threshold lets boundaries spill over by a window; a level relative to the copy's own
    # similarity places them where windows are about half copied
    edge_fraction: float = ranged(0.5, 0.0, 1.0)
    speed_margin: float = ranged(0.01, 0.0)  # the fitted line keeps speed 1 unless another raises the mean similarity by this


@dataclass
class CalibrationOptions:
    """Thresholds calibrated on the catalog itself (:mod:`avm.match.calibration`)."""

    hit_quantile: float = ranged(0.99, 0.0, 1.0)  # hit threshold: this quantile of similarities between unrelated videos
    track_quantile: float = ranged(0.5, 0.0, 1.0)  # refinement's track threshold: this quantile of the same similarities
    edge_quantile: float = ranged(0.9, 0.0, 1.0)  # refinement's edge threshold
    samples: int = ranged(2000, 0)  # stored intervals sampled to estimate that distribution
    min_samples: int = ranged(100, 0)  # fewer (a tiny catalog): the configured thresholds are used as they are
    # decision threshold: min_score is raised so that time-reversed catalog videos, matched as negative queries
    # (`null_hours` of them), give at most `false_positives_per_hour` segments per query-hour
    null_hours: float = ranged(10.0, 0.0)
    false_positives_per_hour: float = ranged(0.1, 0.0)
    # content that recurs across catalog videos (intros, outros, logos; avm.match.shared) is found by searching
    # intervals `shared_query_every` seconds apart among the other videos, and left out of calibration; a line is
    # shared when its similarity stays at or above `shared_similarity` on the next two intervals a window away on
    # one side of a hit (the same content encoded twice scores 0.95-1; chance lines between unrelated videos stay
    # under 0.82 on `standard`)
    shared_content: bool = True
    shared_query_every: float = ranged(1.0, 0.01)
    shared_similarity: float = ranged(0.9, -1.0, 1.0)
    # hits on content that at least this many catalog videos hold are dropped when matching; content in only
    # two may be a copy inside the catalog, which a catalog scan must still report (calibration leaves out both).
    # An impostor sample alike at `shared_similarity` to this many videos (itself included) is left out too,
    # however short its content (an ident a window long, which the line search cannot confirm)
    shared_min_videos: int = ranged(3, 2)

    @property
    def recurring(self) -> tuple[float, int] | None:
        """(similarity, other videos) that mark an impostor sample as content many catalog videos hold: the level
        only the same content reaches, in as many other videos as make content shared (None: detection off)."""
        return (self.shared_similarity, self.shared_min_videos - 1) if self.shared_content else None


@dataclass
class FuseOptions:
    """Fusion of the modalities' segments of one query (:mod:`avm.match.fuse`)."""

    conflict_overlap: float = ranged(0.5, 0.0, 1.0)  # segments on different lines overlapping by more (of the shorter) contradict
    support_margin: float = ranged(0.1, 0.0, 1.0)  # a line must be followed over this much more of the contested span to win


@dataclass
class MatchOptions:
    """Every step's options for one modality."""

    align: AlignOptions = field(default_factory=AlignOptions)
    refine: RefineOptions = field(default_factory=RefineOptions)
    calibration: CalibrationOptions = field(default_factory=CalibrationOptions)


def _overrides_of(options: type) -> type:
    """A dataclass with the fields of ``options``, each optional and None by default: what one modality overrides."""
    hints = typing.get_type_hints(options)
    name = f"{options.__name__.removesuffix('Options')}Overrides"
    fields = [(f.name, hints[f.name] | None, field(default=None, metadata=f.metadata)) for f in dataclasses.fields(options)]
    overrides = dataclasses.make_dataclass(name, fields)
    overrides.__module__ = __name__  # so that pickle (Ray, multiprocessing) finds it
    overrides.__doc__ = f"Per-modality overrides of {options.__name__} (None: the shared value)."
    return overrides


AlignOverrides = _overrides_of(AlignOptions)
RefineOverrides = _overrides_of(RefineOptions)
CalibrationOverrides = _overrides_of(CalibrationOptions)


@dataclass
class ModalityOverrides:
    """The settings one modality sets apart from the shared ones, by step (None: the shared value)."""

    align: AlignOverrides = field(default_factory=AlignOverrides)
    refine: RefineOverrides = field(default_factory=RefineOverrides)
    calibration: CalibrationOverrides = field(default_factory=CalibrationOverrides)

    def over(self, shared: MatchOptions) -> MatchOptions:
        """``shared`` with every value set here put over it."""
        steps = {}
        for step in dataclasses.fields(self):
            values = {k: v for k, v in dataclasses.asdict(getattr(self, step.name)).items() if v is not None}
            steps[step.name] = dataclasses.replace(getattr(shared, step.name), **values)
        return MatchOptions(**steps)


@dataclass
class PerModality:
    """Overrides for each modality (``match.modality.<name>.<step>.<key>``)."""

    audio: ModalityOverrides = field(default_factory=ModalityOverrides)
    visual: ModalityOverrides = field(default_factory=ModalityOverrides)


@dataclass
class MatchConfig:
    """The ``match`` config group: each step's options for every modality, ``modality.<name>`` overrides for one
    modality (nested the same way, e.g. ``modality.audio.align.min_similarity``), and the fusion options."""

    align: AlignOptions = field(default_factory=AlignOptions)
    refine: RefineOptions = field(default_factory=RefineOptions)
    calibration: CalibrationOptions = field(default_factory=CalibrationOptions)
    fuse: FuseOptions = field(default_factory=FuseOptions)
    modality: PerModality = field(default_factory=PerModality)

    def per_modality(self, modalities: Sequence[str]) -> dict[str, MatchOptions]:
        """The options of each of ``modalities``: the shared ones with ``modality.<name>`` put over them.

        Raises ValueError naming an unknown modality.
        """
        unknown = sorted(set(modalities) - set(MODALITIES))
        if unknown:
            raise ValueError(f"unknown modalities {unknown} (known: {list(MODALITIES)})")
        shared = MatchOptions(align=self.align, refine=self.refine, calibration=self.calibration)
        return {m: getattr(self.modality, m).over(shared) for m in modalities}

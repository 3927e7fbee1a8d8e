"""Match thresholds calibrated on the catalog itself, cached in the store per catalog state and settings.

Two null distributions, both made from the catalog, set every threshold of :class:`MatchOptions` that is a
property of the model and the catalog rather than a choice:

* **impostor intervals**: the best similarity of sampled catalog intervals to any *other* video sets the
  hit, track and edge thresholds (quantiles, :func:`calibrate`);
* **null queries**: catalog videos played backwards (their fingerprint sequences reversed, so every
  interval is real content but no copy runs forward in time), matched like queries against the rest of
  the catalog, give the segments that chance alignments and still or repeated content produce. The
  decision threshold (``align.min_score``) is raised until at most ``false_positives_per_hour`` of those
  segments per query-hour pass (:func:`decision_threshold`).

Content that recurs across catalog videos (intros, outros, logos: :mod:`avm.match.shared`) is found first and
left out of both, so that it cannot pass for chance likeness and lift the thresholds out of reach; the spans
found travel with the calibration, and matching drops hits landing in them. Content too short for that search
(an ident or an outro about a window long) is left out of the impostor samples where it is seen: a sampled
interval as alike as only the same content is (``shared_similarity``) to ``shared_min_videos - 1`` or more other
videos.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avm.index import FingerprintStore, SearchOptions, impostor_similarities, read_calibration, write_calibration
from avm.match.cascade import CatalogCheck, candidate_hits, shortlist_ready, sparse_options
from avm.match.matcher import match_segments
from avm.match.options import AlignOptions, CalibrationOptions, MatchOptions, RefineOptions
from avm.match.query import reference_lookup
from avm.match.shared import SharedContent, shared_content
from avm.types import Segment, Verdict

log = logging.getLogger(__name__)

CALIBRATION_VERSION = 7
# a calibrated threshold at or above this leaves a modality (almost) no room to match: said loudly
NO_ROOM_SIMILARITY = 0.99


def calibrate(opts: dict[str, MatchOptions], impostors: dict[str, np.ndarray]) -> dict[str, MatchOptions]:
    """Each modality's options with ``min_similarity`` raised to the ``hit_quantile`` of its impostor similarities.

    ``track_similarity`` and ``edge_similarity`` are raised the same way to the ``track_quantile`` and
    ``edge_quantile``. The configured values stay floors; with too few impostor samples they are used as they
    are, and refinement is turned off unless a ``track_similarity`` floor was configured. A quantile q means
    that an unrelated interval passes as a hit with probability about 1 − q, and a segment needs ``min_hits``
    such hits at one consistent offset.
    """
    out = {}
    for modality, base in opts.items():
        sims = impostors.get(modality, np.zeros(0))
        cal, refine = base.calibration, base.refine
        hit, track, edge = base.align.min_similarity, refine.track_similarity, refine.edge_similarity
        enough = len(sims) >= cal.min_samples
        if enough:
            hit = max(hit, float(np.quantile(sims, cal.hit_quantile)))
            if refine.enabled:
                track = max(track, float(np.quantile(sims, cal.track_quantile)))
                edge = max(edge, float(np.quantile(sims, cal.edge_quantile)))
        out[modality] = dataclasses.replace(
            base, align=dataclasses.replace(base.align, min_similarity=hit),
            refine=dataclasses.replace(refine, track_similarity=track, edge_similarity=edge,
                                       enabled=refine.enabled and (enough or track > 0)))
    return out


def decision_threshold(null_scores: np.ndarray, null_hours: float, false_positives_per_hour: float,
                       floor: float) -> float:
    """The lowest segment score (at least ``floor``) that at most ``false_positives_per_hour × null_hours``
    of the null segments reach; ``floor`` when there are no null queries."""
    if null_hours <= 0 or len(null_scores) == 0:
        return floor
    allowed = int(np.floor(false_positives_per_hour * null_hours + 1e-9))
    ranked = np.sort(np.asarray(null_scores, dtype=np.float64))[::-1]
    if len(ranked) <= allowed:
        return floor
    return max(floor, float(np.nextafter(ranked[allowed], np.inf)))


@dataclass(frozen=True)
class Calibration:
    """Calibrated match options per modality and what the null queries showed."""

    options: dict[str, MatchOptions]
    null_hours: float = 0.0
    null_segments: dict[str, int] = dataclasses.field(default_factory=dict)  # found by the null queries
    null_passing: dict[str, int] = dataclasses.field(default_factory=dict)  # of those, at or above min_score
    impostor_samples: dict[str, int] = dataclasses.field(default_factory=dict)
    shared: SharedContent = dataclasses.field(default_factory=SharedContent)  # left out of calibration and matching
    shortlisted: bool = False  # the first stage searches a shortlist of references (avm.match.cascade)

    def false_positive_rate(self, modality: str) -> str:
        """The estimated false-positive rate at the decision threshold, in words."""
        if self.null_hours <= 0:
            return "not estimated (no null queries)"
        passing = self.null_passing.get(modality, 0)
        if passing == 0:  # rule of three: the 95 % upper bound of a rate never observed
            return f"< {3.0 / self.null_hours:.2g} per query-hour (95 %; none passes)"
        return f"≈ {passing / self.null_hours:.2g} per query-hour"

    def lines(self) -> list[str]:
        """One summary line per modality, its shared content, and a warning for each modality left no room."""
        out = [f"first stage: {'a shortlist of references by segment vectors' if self.shortlisted else 'the whole catalog'}"]
        for m, o in self.options.items():
            out.append(f"{m}: hits ≥ {o.align.min_similarity:.3f} ({self.impostor_samples.get(m, 0)} impostor "
                       f"samples), decision score ≥ {o.align.min_score:.3f}: {self.null_passing.get(m, 0)} of "
                       f"{self.null_segments.get(m, 0)} segments of {self.null_hours:.2f} h of reversed catalog pass; "
                       f"false positives {self.false_positive_rate(m)}")
            if m in self.shared.spans:
                most = o.calibration.shared_min_videos
                out.append(f"{m}: content shared by catalog videos: {self.shared.seconds(m) / 60:.1f} min in "
                           f"{self.shared.videos(m)} videos (left out of calibration), of which "
                           f"{self.shared.seconds(m, most) / 60:.1f} min held by {most} or more videos (never "
                           "matched)")
        return out + self.warnings()

    def warnings(self) -> list[str]:
        """A line for every modality whose calibrated thresholds leave it (almost) no room to match."""
        return [f"WARNING {m}: calibrated {what} {value:.3f} ≥ {NO_ROOM_SIMILARITY}: this modality can hardly match "
                "anything on this catalog (content shared by many catalog videos that was not recognised as such, "
                "or a model that does not tell this catalog's videos apart); see README, 'Shared content'"
                for m, o in self.options.items()
                for what, value in (("hit similarity", o.align.min_similarity), ("decision score", o.align.min_score))
                if value >= NO_ROOM_SIMILARITY]

    def to_json(self) -> str:
        return json.dumps({"version": CALIBRATION_VERSION, **dataclasses.asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        data.pop("version")
        data["options"] = {m: MatchOptions(AlignOptions(**o["align"]), RefineOptions(**o["refine"]),
                                           CalibrationOptions(**o["calibration"]))
                           for m, o in data["options"].items()}
        data["shared"] = SharedContent.from_dict(data.get("shared", {}))
        return cls(**data)


def _cache_key(store: FingerprintStore, opts: dict[str, MatchOptions], search: SearchOptions) -> str:
    state = {"version": CALIBRATION_VERSION, "tables": store.state(tuple(opts)), "search": dataclasses.asdict(search),
             "options": {m: dataclasses.asdict(o) for m, o in opts.items()}}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]


def _null_videos(store: FingerprintStore, hours: float, seed: int = 0) -> list[tuple[str, float]]:
    """A seeded random sample of searchable catalog videos adding up to about ``hours`` of media."""
    videos = list(store.snapshot().durations.items())  # in the videos table's order
    order = np.random.default_rng(seed).permutation(len(videos))
    picked, total = [], 0.0
    for i in order:
        if total >= hours * 3600:
            break
        picked.append(videos[i])
        total += picked[-1][1]
    return picked


def null_segment_scores(store: FingerprintStore, opts: dict[str, MatchOptions], search: SearchOptions, hours: float,
                        shared: SharedContent | None = None,
                        shortlisted: bool = False) -> tuple[dict[str, np.ndarray], float]:
    """Scores of the segments found per modality when sampled catalog videos, played backwards, are matched
    as queries against the rest of the catalog with the scan's first stage (hits on any ``shared`` content
    dropped: calibration measures unrelated content only; a shortlist's pairs checked against the whole catalog as
    a scan checks them, in their one modality); and the hours of media used."""
    references = reference_lookup(store)
    shared = shared or SharedContent()
    scores: dict[str, list[float]] = {m: [] for m in opts}
    videos = _null_videos(store, hours)
    for video_id, _ in videos:
        for m, o in opts.items():
            prints = references(m, video_id)
            if prints is None or not len(prints):
                continue
            backwards = prints.reversed()
            hits, stride = candidate_hits(store, {m: backwards}, search, references, shortlisted, video_id, shared)[m]
            check = (CatalogCheck.of(store, {m: backwards}, search, video_id, shared,
                                     {m: o.calibration.shared_min_videos}) if shortlisted else None)
            found = match_segments(video_id, {m: backwards}, {m: shared.drop_hits(m, hits)},
                                   {m: sparse_options(o, stride)}, references=references, check=check)
            scores[m] += [s.score for s in found]
    return {m: np.asarray(v) for m, v in scores.items()}, sum(d for _, d in videos) / 3600


def with_decision_thresholds(opts: dict[str, MatchOptions], null_scores: dict[str, np.ndarray],
                             null_hours: float) -> dict[str, MatchOptions]:
    """``opts`` with each modality's ``align.min_score`` raised to its decision threshold on the null segments."""
    out = {}
    for m, o in opts.items():
        score = decision_threshold(null_scores.get(m, np.zeros(0)), null_hours,
                                   o.calibration.false_positives_per_hour, o.align.min_score)
        out[m] = dataclasses.replace(o, align=dataclasses.replace(o.align, min_score=score))
    return out


def calibrate_catalog(store: FingerprintStore, opts: dict[str, MatchOptions], search: SearchOptions) -> Calibration:
    """Calibrated options for matching against this catalog (computed once per catalog state and settings)."""
    key = _cache_key(store, opts, search)
    cached = read_calibration(store, key)
    if cached is not None:
        result = Calibration.from_json(cached)
        log.info("match thresholds: reused the calibration of this catalog state (%s)", key[:12])
        return result
    shared = shared_content(store, {m: o.calibration for m, o in opts.items()}, search.k, reference_lookup(store))
    impostors = {m: impostor_similarities(store, m, o.calibration.samples,
                                          ignore=functools.partial(shared.covers, m) if shared.spans.get(m) else None,
                                          recurring=o.calibration.recurring)
                 for m, o in opts.items()}
    calibrated = calibrate(opts, impostors)
    hours = max((o.calibration.null_hours for o in opts.values()), default=0.0)
    shortlisted = shortlist_ready(store, list(opts), search)
    null_scores, null_hours = (null_segment_scores(store, calibrated, search, hours, shared, shortlisted) if hours > 0
                               else ({}, 0.0))
    calibrated = with_decision_thresholds(calibrated, null_scores, null_hours)
    passing = {m: int((null_scores.get(m, np.zeros(0)) >= o.align.min_score).sum()) for m, o in calibrated.items()}
    result = Calibration(calibrated, null_hours, {m: len(s) for m, s in null_scores.items()}, passing,
                         {m: len(v) for m, v in impostors.items()}, shared, shortlisted)
    write_calibration(store, key, result.to_json())
    for line in result.lines():
        if line.startswith("WARNING"):
            log.warning("%s", line)
        else:
            log.info("calibrated %s", line)
    return result


def verdict_lines(calibration: Calibration, verdicts: Sequence[Verdict]) -> list[str]:
    """What reviewers' verdicts (``avm review``) say of these thresholds: of the pairs judged copy or not a copy,
    those the decision thresholds report (a single-modality pair at or above its modality's ``min_score``; a pair
    with both modalities' evidence always), their precision, and the judged copies left below."""
    judged = [v for v in verdicts if v.verdict != "unsure"]
    if not judged:
        return []

    def reported(pair: Segment) -> bool:
        options = calibration.options.get(pair.modality)
        return options is None or pair.score >= options.align.min_score

    kept = [v for v in judged if reported(v.pair)]
    copies = sum(v.verdict == "copy" for v in kept)
    missed = sum(v.verdict == "copy" and not reported(v.pair) for v in judged)
    precision = f"{copies / len(kept):.3f}" if kept else "–"
    return [f"verdicts: {len(judged)} reviewed pairs judged copy or not; these thresholds report {len(kept)}: "
            f"precision {precision} ({copies} copies, {len(kept) - copies} not); {missed} judged copies fall below"]

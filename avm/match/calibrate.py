"""Hit thresholds calibrated on the null distribution of similarities (unrelated content)."""

from __future__ import annotations

import dataclasses

import numpy as np

from avm.match.align import MatchOptions


def calibrate(opts: dict[str, MatchOptions], impostors: dict[str, np.ndarray]) -> dict[str, MatchOptions]:
    """Each modality's options with ``min_similarity`` raised to the ``hit_quantile`` of its impostor similarities.

    ``track_similarity`` is raised the same way to the ``track_quantile``. The configured values stay floors;
    with too few impostor samples they are used as they are, and refinement is turned off unless a
    ``track_similarity`` floor was configured. A quantile q means that an unrelated interval passes as a hit with probability about 1 − q, and a
    segment needs ``min_hits`` such hits at one consistent offset.
    """
    out = {}
    for modality, base in opts.items():
        sims = impostors.get(modality, np.zeros(0))
        hit, track, edge = base.min_similarity, base.track_similarity, base.edge_similarity
        if len(sims) >= base.min_calibration_samples:
            hit = max(hit, float(np.quantile(sims, base.hit_quantile)))
            if base.track_quantile >= 0:
                track = max(track, float(np.quantile(sims, base.track_quantile)))
                edge = max(edge, float(np.quantile(sims, base.edge_quantile)))
        refine = base.track_quantile if len(sims) >= base.min_calibration_samples or track > 0 else -1.0
        out[modality] = dataclasses.replace(base, min_similarity=hit, track_similarity=track, edge_similarity=edge,
                                            track_quantile=refine)
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

"""Hit thresholds calibrated on the null distribution of similarities (unrelated content)."""

from __future__ import annotations

import dataclasses

import numpy as np

from avm.match.align import MatchOptions


def calibrate(opts: MatchOptions, impostors: dict[str, np.ndarray]) -> dict[str, MatchOptions]:
    """Per-modality options whose ``min_similarity`` is the ``hit_quantile`` of that modality's impostor similarities.

    The configured ``min_similarity`` stays a floor; with too few impostor samples it is used as it is.
    A quantile q means that an unrelated interval passes as a hit with probability about 1 − q, and a
    segment needs ``min_hits`` such hits at one consistent offset.
    """
    out = {}
    for modality, sims in impostors.items():
        threshold = opts.min_similarity
        if len(sims) >= opts.min_calibration_samples:
            threshold = max(threshold, float(np.quantile(sims, opts.hit_quantile)))
        out[modality] = dataclasses.replace(opts, min_similarity=threshold)
    return out

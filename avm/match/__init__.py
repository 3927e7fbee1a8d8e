"""Match stage: k-NN hits → temporally aligned segment pairs, fused across modalities, with thresholds
calibrated on the catalog (numpy/pyarrow, and the index stage to search and read references)."""

from avm.match.align import align_hits, suppress_overlaps
from avm.match.calibration import Calibration, calibrate, calibrate_catalog, decision_threshold, verdict_lines
from avm.match.fuse import fuse_modalities
from avm.match.matcher import ReferenceLookup, match_segments
from avm.match.options import (
    AlignOptions,
    CalibrationOptions,
    FuseOptions,
    MatchConfig,
    MatchOptions,
    RefineOptions,
)
from avm.match.query import match_query, reference_lookup, stored_fingerprints
from avm.match.refine import line_track, refine_segment
from avm.match.shared import SharedContent

__all__ = ["AlignOptions", "Calibration", "CalibrationOptions", "FuseOptions", "MatchConfig", "MatchOptions",
           "ReferenceLookup", "RefineOptions", "SharedContent", "align_hits", "calibrate", "calibrate_catalog", "decision_threshold",
           "fuse_modalities", "line_track", "match_query", "match_segments", "reference_lookup", "verdict_lines", "refine_segment",
           "stored_fingerprints", "suppress_overlaps"]

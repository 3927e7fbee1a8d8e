"""Match stage: k-NN hits → temporally aligned segment pairs, fused across modalities (numpy/pyarrow only)."""

from avm.match.align import MatchOptions, Segment, align_hits, suppress_overlaps
from avm.match.calibrate import calibrate, decision_threshold
from avm.match.fuse import fuse_modalities
from avm.match.matcher import ReferenceLookup, match_segments
from avm.match.refine import Fingerprints, line_track, refine_segment

__all__ = ["Fingerprints", "MatchOptions", "ReferenceLookup", "Segment", "align_hits", "calibrate",
           "decision_threshold", "fuse_modalities", "line_track", "match_segments", "refine_segment",
           "suppress_overlaps"]

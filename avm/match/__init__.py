"""Match stage: k-NN hits → temporally aligned segment pairs, fused across modalities (numpy/pyarrow only)."""

from avm.match.align import MatchOptions, Segment, align_hits, suppress_overlaps
from avm.match.calibrate import calibrate
from avm.match.fuse import fuse_modalities

__all__ = ["MatchOptions", "Segment", "align_hits", "calibrate", "fuse_modalities", "suppress_overlaps"]

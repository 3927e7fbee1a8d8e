"""Training data, edits, pairs and held-out evaluation of the visual embedder (see avm.train for the loop).

data (stills and video frames decoded once like inference frames, cached) → pairs (two views of one picture)
→ augment (torch edits: crops, pans, zooms, mirror, picture-in-picture, logos, captions, bars, tone, blur,
low-resolution re-encode) → retrieval (held-out frames edited by the benchmark's own ffmpeg edits).
"""

from avm.train.visual.augment import FrameAugmentOptions
from avm.train.visual.data import FrameDataOptions, Picture, PictureCorpus, load_picture_corpus
from avm.train.visual.pairs import FramePairs, FramePairSampler
from avm.train.visual.retrieval import EDITS, FrameEvalOptions, evaluate_frame_retrieval

__all__ = ["EDITS", "FrameAugmentOptions", "FrameDataOptions", "FrameEvalOptions", "FramePairSampler", "FramePairs",
           "Picture", "PictureCorpus", "evaluate_frame_retrieval", "load_picture_corpus"]

"""Training data, edits, pairs and held-out evaluation of the visual embedder (see avm.train for the loop).

data (stills and video frames decoded once like inference frames, cached) → pairs (two views of one picture)
→ augment (torch edits: crops, pans, zooms, mirror, picture-in-picture, logos, captions, bars, tone, blur,
low-resolution re-encode) → retrieval (held-out frames edited by the benchmark's own ffmpeg edits).
:data:`VISUAL_TRAINER` ties them together.
"""

from avm.train.visual.augment import AugmentOptions
from avm.train.visual.data import Corpus, DataOptions, Picture, load_corpus
from avm.train.visual.pairs import PairBatches, PairSampler
from avm.train.visual.retrieval import EDITS, HARD_EDITS, EvalOptions, evaluate_retrieval
from avm.train.visual.trainer import VISUAL_TRAINER, VisualTrainer

__all__ = ["EDITS", "HARD_EDITS", "VISUAL_TRAINER", "AugmentOptions", "Corpus", "DataOptions", "EvalOptions", "PairBatches",
           "PairSampler", "Picture", "VisualTrainer", "evaluate_retrieval", "load_corpus"]

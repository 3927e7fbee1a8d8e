"""Self-supervised contrastive training of the audio embedder (torch; decoding through avm.media).

data (decode once, cache, offline ffmpeg variants) → pairs (two edited views of one place) → augment (torch
edits) → loss (NT-Xent) → loop (steps, checkpoints, resume) → retrieval (held-out evaluation through the
real fingerprint code path).
"""

from avm.train.augment import AugmentOptions
from avm.train.data import Corpus, DataOptions, load_corpus
from avm.train.loop import LoopOptions, TrainResult, train
from avm.train.loss import nt_xent
from avm.train.pairs import PairSampler, ViewGeometry
from avm.train.retrieval import EvalOptions, evaluate_retrieval
from avm.train.run import TrainJob, run

__all__ = ["AugmentOptions", "Corpus", "DataOptions", "EvalOptions", "LoopOptions", "PairSampler", "TrainJob",
           "TrainResult", "ViewGeometry", "evaluate_retrieval", "load_corpus", "nt_xent", "run", "train"]

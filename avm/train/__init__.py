"""Self-supervised contrastive training of the embedders (torch; decoding through avm.media).

Shared: loss (NT-Xent) → loop (steps, checkpoints, resume, time budget, over any :class:`PairTask`) → run (one
job: data, training, export, held-out evaluation; :data:`avm.train.run.MODALITIES` holds what differs).
Audio: data (decode once, cache, offline ffmpeg variants) → pairs (two edited views of one place) → augment
(torch edits) → retrieval (held-out evaluation through the real fingerprint code path).
Visual (:mod:`avm.train.visual`): the same four steps for pictures and video frames.
"""

from avm.train.augment import AugmentOptions
from avm.train.data import Corpus, DataOptions, load_corpus
from avm.train.loop import LoopOptions, PairTask, TrainResult, run_loop, train
from avm.train.loss import nt_xent
from avm.train.pairs import PairSampler, ViewGeometry
from avm.train.retrieval import EvalOptions, evaluate_retrieval
from avm.train.run import TrainJob, run

__all__ = ["AugmentOptions", "Corpus", "DataOptions", "EvalOptions", "LoopOptions", "PairSampler", "PairTask",
           "TrainJob", "TrainResult", "ViewGeometry", "evaluate_retrieval", "load_corpus", "nt_xent", "run",
           "run_loop", "train"]

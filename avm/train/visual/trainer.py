"""The visual trainer: stills and video frames, pairs of edited views of one picture, retrieval of edited frames."""

from __future__ import annotations

from typing import Any

from torch import nn

from avm.fingerprint import ModalityModel
from avm.train.loop import LoopOptions
from avm.train.visual.augment import AugmentOptions
from avm.train.visual.data import Corpus, DataOptions, load_corpus
from avm.train.visual.pairs import PairBatches, PairSampler
from avm.train.visual.retrieval import EvalOptions, evaluate_retrieval


class VisualTrainer:
    """Training of a visual embedder (:class:`avm.train.trainer.Trainer`)."""

    modality = "visual"
    data = DataOptions
    augment = AugmentOptions
    eval = EvalOptions

    def load(self, data: DataOptions) -> Corpus:
        return load_corpus(data)

    def task(self, model: nn.Module, corpus: Corpus, augment: AugmentOptions, loop: LoopOptions,
             inference: ModalityModel) -> PairBatches:
        """``loop.positions`` distinct pictures per batch, two views of each (frames are embedded one by one)."""
        return PairBatches(PairSampler(corpus, augment, loop.seed), loop.positions)

    def evaluate(self, model: ModalityModel, corpus: Corpus, opts: EvalOptions, device: str) -> dict[str, Any]:
        """Top-1 frame retrieval of ``model`` and of the untrained baselines."""
        return evaluate_retrieval(model, corpus, opts, device)


VISUAL_TRAINER = VisualTrainer()

"""The audio trainer: music and speech tracks, pairs of edited views of one place, retrieval of edited queries."""

from __future__ import annotations

from typing import Any

from torch import nn

from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel
from avm.train.audio.augment import AugmentOptions
from avm.train.audio.data import Corpus, DataOptions, load_corpus
from avm.train.audio.pairs import PairBatches, PairSampler, ViewGeometry
from avm.train.audio.retrieval import EvalOptions, evaluate_retrieval
from avm.train.loop import LoopOptions


class AudioTrainer:
    """Training of an audio embedder (:class:`avm.train.trainer.Trainer`)."""

    modality = "audio"
    data = DataOptions
    augment = AugmentOptions
    eval = EvalOptions

    def load(self, data: DataOptions) -> Corpus:
        return load_corpus(data)

    def task(self, model: nn.Module, corpus: Corpus, augment: AugmentOptions, loop: LoopOptions,
             inference: ModalityModel) -> PairBatches:
        """Views of ``augment.spans`` windows of the inference pooling window, ``loop.positions`` places per
        batch."""
        geometry = ViewGeometry.for_model(model, inference.pooling.window, augment.spans)
        return PairBatches(PairSampler(corpus, geometry, augment, seed=loop.seed), geometry, loop.positions)

    def evaluate(self, model: ModalityModel, corpus: Corpus, opts: EvalOptions, device: str) -> dict[str, Any]:
        """Retrieval through the real fingerprint code path, at ``model``'s pooling and query step."""
        fp = Fingerprinter(FingerprintOptions(modalities=("audio",), device=device, threads=0, audio=model))
        return evaluate_retrieval(fp, corpus.heldout, opts, [t.clean for t in corpus.train], corpus.interference,
                                  corpus.sample_rate)


AUDIO_TRAINER = AudioTrainer()

"""What a modality brings to training: its option classes, its data, its batches of pairs and its evaluation.

Each modality package exports one object that has this shape (:data:`avm.train.audio.AUDIO_TRAINER`,
:data:`avm.train.visual.VISUAL_TRAINER`); :mod:`avm.train.job` picks one by ``train.modality`` and runs the
shared loop (:func:`avm.train.loop.run_loop`) on its task.
"""

from __future__ import annotations

from typing import Any, Protocol

from torch import nn

from avm.fingerprint import ModalityModel
from avm.train.loop import LoopOptions, PairTask


class Corpus(Protocol):
    """Training and held-out files of one modality, loaded."""

    heldout: list[Any]

    def describe(self) -> dict[str, object]: ...


class Trainer(Protocol):
    """One modality's part of a training job."""

    modality: str
    data: type  # option classes of train.data, train.augment and train.eval
    augment: type
    eval: type

    def load(self, data: Any) -> Corpus:
        """Find, split, decode and cache the files that ``data`` names."""
        ...

    def task(self, model: nn.Module, corpus: Any, augment: Any, loop: LoopOptions,
             inference: ModalityModel) -> PairTask:
        """Batches of pairs of ``corpus`` for ``model``; ``inference`` is how the model will be run and pooled."""
        ...

    def evaluate(self, model: ModalityModel, corpus: Any, opts: Any, device: str) -> dict[str, Any]:
        """Held-out results of ``model`` on ``corpus`` (JSON-ready, with ``edits`` and ``mean`` tables)."""
        ...

"""The ``avm train`` job's config: the ``train`` options of each modality and the job config around them.

``conf/train/audio.yaml`` and ``visual.yaml`` start from :class:`AudioTrainOptions` / :class:`VisualTrainOptions`
(stored as ``train/audio_schema`` and ``train/visual_schema`` by ``jobs/schemas.py``) and hold only
overrides and interpolations; the shipped models' recipes are presets in ``conf/experiment/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from avm.config import PathsConfig
from avm.fingerprint import FingerprintOptions
from avm.media import DecodeOptions
from avm.train.audio.augment import AugmentOptions as AudioAugmentOptions
from avm.train.audio.data import DataOptions as AudioDataOptions
from avm.train.audio.retrieval import EvalOptions as AudioEvalOptions
from avm.train.loop import LoopOptions
from avm.train.visual.augment import AugmentOptions as VisualAugmentOptions
from avm.train.visual.data import DataOptions as VisualDataOptions
from avm.train.visual.retrieval import EvalOptions as VisualEvalOptions


@dataclass
class TrainOptions:
    """What every training run sets; each modality adds its ``data``, ``augment`` and ``eval`` options."""

    name: str = MISSING
    # last.pt, progress.jsonl, model.pt, heldout_eval.json, summary.json; the default is resolved in the composed
    # config (TrainConfig), so code that builds these options itself sets a folder
    out_dir: str = "${paths.output_dir}/${train.name}"
    modality: str = MISSING  # picks the trainer (avm.train.job.TRAINERS)
    architecture: str = MISSING  # a key of the model registry (avm.models.registry)
    params: dict[str, Any] = field(default_factory=dict)  # hyper-parameter overrides of the architecture's config
    seed: int = 0  # initial weights
    init_checkpoint: str | None = None  # start from these weights; with eval_only: the model to evaluate
    export: str | None = None  # also copy the final checkpoint here, e.g. avm/models/checkpoints/audio_v2.pt
    eval_only: bool = False
    evaluate: bool = True  # held-out evaluation after training
    loop: LoopOptions = field(default_factory=LoopOptions)


@dataclass
class AudioTrainOptions(TrainOptions):
    """``train=audio``: an audio_cnn embedder on music (avm.train.audio)."""

    name: str = "audio_v1"
    modality: str = "audio"
    architecture: str = "audio_cnn"
    data: AudioDataOptions = field(default_factory=AudioDataOptions)
    augment: AudioAugmentOptions = field(default_factory=AudioAugmentOptions)
    eval: AudioEvalOptions = field(default_factory=AudioEvalOptions)


@dataclass
class VisualTrainOptions(TrainOptions):
    """``train=visual``: a visual_cnn embedder on stills and video frames (avm.train.visual)."""

    name: str = "visual_v1"
    modality: str = "visual"
    architecture: str = "visual_cnn"
    data: VisualDataOptions = field(default_factory=VisualDataOptions)
    augment: VisualAugmentOptions = field(default_factory=VisualAugmentOptions)
    eval: VisualEvalOptions = field(default_factory=VisualEvalOptions)


SCHEMAS: dict[str, type[TrainOptions]] = {"audio": AudioTrainOptions, "visual": VisualTrainOptions}


@dataclass
class TrainConfig:
    """``avm train``: train one embedder, export it, evaluate it on held-out data.

    ``train`` is the modality's options (:data:`SCHEMAS`); ``model.<modality>`` gives the pooling and query step
    the trained model will be run with.
    """

    paths: PathsConfig = field(default_factory=PathsConfig)
    media: DecodeOptions = field(default_factory=DecodeOptions)
    model: FingerprintOptions = field(default_factory=FingerprintOptions)
    train: Any = MISSING  # AudioTrainOptions or VisualTrainOptions, picked by the train group (train=audio|visual)

"""Self-supervised contrastive training of the embedders (torch; decoding through avm.media).

Shared: files (inputs, exclusions, held-out split) → loss (NT-Xent) → loop (steps, checkpoints, resume, time
budget, over any :class:`PairTask`) → job (one run: data, training, export, held-out evaluation), configured by
:class:`TrainConfig`. Each modality package, :mod:`avm.train.audio` and :mod:`avm.train.visual`, has the same
modules (data → pairs → augment → retrieval) and exports one :class:`Trainer` (``AUDIO_TRAINER``,
``VISUAL_TRAINER``); the job picks one by ``train.modality``.
"""

from avm.train.config import AudioTrainOptions, TrainConfig, TrainOptions, VisualTrainOptions
from avm.train.job import TRAINERS, format_results, run
from avm.train.loop import LoopOptions, PairTask, TrainResult, run_loop
from avm.train.loss import nt_xent
from avm.train.trainer import Trainer

__all__ = ["TRAINERS", "AudioTrainOptions", "LoopOptions", "PairTask", "TrainConfig", "TrainOptions", "TrainResult",
           "Trainer", "VisualTrainOptions", "format_results", "nt_xent", "run", "run_loop"]

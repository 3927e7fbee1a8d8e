"""One training job end to end: load the data, train (or resume), export, evaluate on held-out data.

The job's ``modality`` picks what is modality specific (:data:`MODALITIES`): how data is loaded, how a batch
of pairs is drawn and embedded, and the held-out evaluation. The loop, loss, checkpoints and budget are
shared (:func:`avm.train.loop.run_loop`).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from avm.fingerprint import FingerprintOptions, Fingerprinter, PoolingOptions
from avm.models import ModelSpec, build_model
from avm.paths import resolve_path
from avm.train.augment import AugmentOptions
from avm.train.data import DataOptions, load_corpus
from avm.train.loop import LoopOptions, PairTask, run_loop
from avm.train.pairs import audio_task
from avm.train.retrieval import EvalOptions, evaluate_retrieval, format_results
from avm.train.visual.augment import FrameAugmentOptions
from avm.train.visual.data import FrameDataOptions, load_picture_corpus
from avm.train.visual.pairs import FramePairs, FramePairSampler
from avm.train.visual.retrieval import FrameEvalOptions, evaluate_frame_retrieval

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainJob:
    """Everything ``avm train`` needs (built from the Hydra config by avm.pipeline.options.train_job)."""

    name: str
    out_dir: str
    modality: str = "audio"  # a key of MODALITIES; data, augment and eval are that modality's options
    architecture: str = "audio_cnn"
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    init_checkpoint: str | None = None  # start from these weights (fine-tuning; or what eval_only evaluates)
    export: str | None = None  # also copy the final checkpoint here (e.g. avm/models/checkpoints/audio_v1.pt)
    eval_only: bool = False
    evaluate: bool = True
    data: DataOptions | FrameDataOptions = DataOptions()
    augment: AugmentOptions | FrameAugmentOptions = AugmentOptions()
    loop: LoopOptions = LoopOptions()
    eval: EvalOptions | FrameEvalOptions = EvalOptions()
    pooling: PoolingOptions = PoolingOptions(1.0, 1.0)  # interval window and index step at inference
    query_step: float = 0.5


@dataclass(frozen=True)
class Modality:
    """What one modality's training needs: its option classes, data loading, batches and evaluation."""

    data: type
    augment: type
    eval: type
    load: Callable[[Any], Any]  # data options → corpus (with ``heldout`` and ``describe()``)
    task: Callable[[nn.Module, Any, TrainJob], PairTask]  # (model, corpus, job) → batches of pairs
    evaluate: Callable[[TrainJob, Path, Any], dict]  # (job, checkpoint, corpus) → held-out results


def _audio_evaluate(job: TrainJob, checkpoint: Path, corpus: Any) -> dict:
    fp = Fingerprinter(FingerprintOptions(models={"audio": ModelSpec(job.architecture, checkpoint=str(checkpoint))},
                                          pooling={"audio": job.pooling}, device=job.loop.device,
                                          modalities=("audio",)))
    return evaluate_retrieval(fp, corpus.heldout, job.eval, job.query_step, [t.clean for t in corpus.train],
                              corpus.interference, corpus.sample_rate)


MODALITIES: dict[str, Modality] = {
    "audio": Modality(DataOptions, AugmentOptions, EvalOptions, load_corpus,
                      lambda model, corpus, job: audio_task(model, corpus, job.augment, job.loop), _audio_evaluate),
    "visual": Modality(FrameDataOptions, FrameAugmentOptions, FrameEvalOptions, load_picture_corpus,
                       lambda model, corpus, job: FramePairs(FramePairSampler(corpus, job.augment, job.loop.seed),
                                                             job.loop.positions),
                       lambda job, checkpoint, corpus: evaluate_frame_retrieval(
                           ModelSpec(job.architecture, checkpoint=str(checkpoint)), corpus, job.eval, job.loop.device)),
}


def modality_of(job: TrainJob) -> Modality:
    """The job's :class:`Modality`, after checking that its options are that modality's."""
    if job.modality not in MODALITIES:
        raise ValueError(f"train.modality {job.modality!r} is unknown; known: {sorted(MODALITIES)}")
    spec = MODALITIES[job.modality]
    for part in ("data", "augment", "eval"):
        if not isinstance(getattr(job, part), getattr(spec, part)):
            raise TypeError(f"train.{part} of a {job.modality} job must be {getattr(spec, part).__name__}, "
                            f"got {type(getattr(job, part)).__name__}")
    return spec


def run(job: TrainJob) -> dict[str, Any]:
    """Train ``job`` (resuming if ``out_dir`` holds a run), export, evaluate; write and return ``summary.json``."""
    spec = modality_of(job)
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if job.modality == "audio" and abs(job.loop.window_seconds - job.pooling.window) > 1e-6:
        log.warning("training window %.2f s differs from the inference pooling window %.2f s",
                    job.loop.window_seconds, job.pooling.window)
    started = time.monotonic()
    corpus = spec.load(job.data)
    summary: dict[str, Any] = {"name": job.name, "modality": job.modality, "command": " ".join(sys.argv),
                               "data": corpus.describe(), "prepare_seconds": round(time.monotonic() - started, 1)}
    log.info("data: %s", {k: v for k, v in summary["data"].items() if k != "heldout_names"})
    checkpoint = out / "model.pt"
    if job.eval_only:
        if not job.init_checkpoint:
            raise ValueError("eval_only needs init_checkpoint (the model to evaluate)")
        checkpoint = resolve_path(job.init_checkpoint)
    else:
        model, _ = build_model(ModelSpec(job.architecture, dict(job.params), job.init_checkpoint, job.seed))
        result = run_loop(model, job.architecture, spec.task(model, corpus, job), job.loop, out)
        summary.update(steps=result.steps, resumed_from=result.resumed_from, device=result.device,
                       train_minutes=round(result.elapsed_seconds / 60, 2),
                       last_log=result.history[-1] if result.history else None)
        if job.export:
            target = resolve_path(Path(job.export).parent) / Path(job.export).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, target)
            summary["exported"] = str(target)
    model, version = build_model(ModelSpec(job.architecture, checkpoint=str(checkpoint)))
    summary.update(checkpoint=str(checkpoint), model_version=version,
                   config={"params": asdict(model.config), "data": asdict(job.data), "augment": asdict(job.augment),
                           "loop": asdict(job.loop), "eval": asdict(job.eval)})
    if job.evaluate and corpus.heldout:
        eval_started = time.monotonic()
        results = spec.evaluate(job, checkpoint, corpus)
        results["seconds"] = round(time.monotonic() - eval_started, 1)
        summary["heldout"] = results
        (out / "heldout_eval.json").write_text(json.dumps(results, indent=2))
        table = format_results(results)
        (out / "heldout_eval.txt").write_text(table + "\n")
        log.info("held-out retrieval (%s):\n%s", version, table)
    summary["total_minutes"] = round((time.monotonic() - started) / 60, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary

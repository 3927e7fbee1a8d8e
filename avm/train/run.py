"""One training job end to end: load the corpus, train (or resume), export, evaluate on held-out audio."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from avm.fingerprint import FingerprintOptions, Fingerprinter, PoolingOptions
from avm.models import ModelSpec, build_model
from avm.paths import resolve_path
from avm.train.augment import AugmentOptions
from avm.train.data import DataOptions, load_corpus
from avm.train.loop import LoopOptions, train
from avm.train.retrieval import EvalOptions, evaluate_retrieval, format_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainJob:
    """Everything ``avm train`` needs (built from the Hydra config by avm.pipeline.options.train_job)."""

    name: str
    out_dir: str
    architecture: str = "audio_cnn"
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    init_checkpoint: str | None = None  # start from these weights (fine-tuning; or what eval_only evaluates)
    export: str | None = None  # also copy the final checkpoint here (e.g. avm/models/checkpoints/audio_v1.pt)
    eval_only: bool = False
    evaluate: bool = True
    data: DataOptions = DataOptions()
    augment: AugmentOptions = AugmentOptions()
    loop: LoopOptions = LoopOptions()
    eval: EvalOptions = EvalOptions()
    pooling: PoolingOptions = PoolingOptions(1.0, 1.0)  # interval window and index step at inference
    query_step: float = 0.5


def _fingerprinter(job: TrainJob, checkpoint: Path) -> Fingerprinter:
    return Fingerprinter(FingerprintOptions(models={"audio": ModelSpec(job.architecture, checkpoint=str(checkpoint))},
                                            pooling={"audio": job.pooling}, device=job.loop.device,
                                            modalities=("audio",)))


def run(job: TrainJob) -> dict[str, Any]:
    """Train ``job`` (resuming if ``out_dir`` holds a run), export, evaluate; write and return ``summary.json``."""
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if abs(job.loop.window_seconds - job.pooling.window) > 1e-6:
        log.warning("training window %.2f s differs from the inference pooling window %.2f s",
                    job.loop.window_seconds, job.pooling.window)
    started = time.monotonic()
    corpus = load_corpus(job.data)
    summary: dict[str, Any] = {"name": job.name, "command": " ".join(sys.argv), "data": corpus.describe(),
                               "prepare_seconds": round(time.monotonic() - started, 1)}
    log.info("data: %s", {k: v for k, v in summary["data"].items() if k != "heldout_names"})
    checkpoint = out / "model.pt"
    if job.eval_only:
        if not job.init_checkpoint:
            raise ValueError("eval_only needs init_checkpoint (the model to evaluate)")
        checkpoint = resolve_path(job.init_checkpoint)
    else:
        spec = ModelSpec(job.architecture, dict(job.params), job.init_checkpoint, job.seed)
        model, _ = build_model(spec)
        result = train(model, job.architecture, corpus, job.augment, job.loop, out)
        summary.update(steps=result.steps, resumed_from=result.resumed_from, device=result.device,
                       train_minutes=round(result.elapsed_seconds / 60, 2),
                       last_log=result.history[-1] if result.history else None)
        if job.export:
            target = resolve_path(Path(job.export).parent) / Path(job.export).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, target)
            summary["exported"] = str(target)
    fp = _fingerprinter(job, checkpoint)
    summary.update(checkpoint=str(checkpoint), model_version=fp.versions["audio"],
                   config={"params": asdict(fp.models["audio"].config), "data": asdict(job.data),
                           "augment": asdict(job.augment), "loop": asdict(job.loop), "eval": asdict(job.eval)})
    if job.evaluate and corpus.heldout:
        eval_started = time.monotonic()
        results = evaluate_retrieval(fp, corpus.heldout, job.eval, job.query_step,
                                     [t.clean for t in corpus.train], corpus.interference, corpus.sample_rate)
        results["seconds"] = round(time.monotonic() - eval_started, 1)
        summary["heldout"] = results
        (out / "heldout_eval.json").write_text(json.dumps(results, indent=2))
        table = format_results(results)
        (out / "heldout_eval.txt").write_text(table + "\n")
        log.info("held-out retrieval (%d intervals, %s):\n%s", results["database_intervals"], fp.versions["audio"], table)
    summary["total_minutes"] = round((time.monotonic() - started) / 60, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary

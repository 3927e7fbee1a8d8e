"""One training job end to end: load the data, train (or resume), export, evaluate on held-out data.

``train.modality`` picks the trainer (:data:`TRAINERS`): how data is loaded, how a batch of pairs is drawn and
embedded, and the held-out evaluation. The loop, loss, checkpoints and budget are shared
(:func:`avm.train.loop.run_loop`).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from avm.fingerprint import ModalityModel
from avm.models import ModelSpec, build_model
from avm.paths import resolve_path
from avm.train.audio import AUDIO_TRAINER
from avm.train.config import TrainConfig, TrainOptions
from avm.train.loop import run_loop
from avm.train.trainer import Trainer
from avm.train.visual import VISUAL_TRAINER

log = logging.getLogger(__name__)

TRAINERS: dict[str, Trainer] = {t.modality: t for t in (AUDIO_TRAINER, VISUAL_TRAINER)}


def trainer_of(opts: TrainOptions) -> Trainer:
    """The trainer of ``opts.modality``, after checking that ``opts`` holds that modality's options."""
    if opts.modality not in TRAINERS:
        raise ValueError(f"train.modality {opts.modality!r} is unknown; known: {sorted(TRAINERS)}")
    trainer = TRAINERS[opts.modality]
    for part in ("data", "augment", "eval"):
        expected = getattr(trainer, part)
        if not isinstance(getattr(opts, part), expected):
            raise TypeError(f"train.{part} of a {opts.modality} job must be {expected.__module__}.{expected.__name__}, "
                            f"got {type(getattr(opts, part)).__name__}")
    return trainer


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train ``cfg.train`` (resuming if its ``out_dir`` holds a run), export, evaluate; write and return
    ``summary.json``."""
    opts: TrainOptions = cfg.train
    trainer = trainer_of(opts)
    inference = cfg.model.model(opts.modality)
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    corpus = trainer.load(opts.data)
    summary: dict[str, Any] = {"name": opts.name, "modality": opts.modality, "command": " ".join(sys.argv),
                               "data": corpus.describe(), "prepare_seconds": round(time.monotonic() - started, 1)}
    log.info("data: %s", {k: v for k, v in summary["data"].items() if k != "heldout_names"})
    checkpoint = out / "model.pt"
    if opts.eval_only:
        if not opts.init_checkpoint:
            raise ValueError("eval_only needs init_checkpoint (the model to evaluate)")
        checkpoint = resolve_path(opts.init_checkpoint)
    else:
        model, _ = build_model(ModelSpec(opts.architecture, dict(opts.params), opts.init_checkpoint, opts.seed))
        task = trainer.task(model, corpus, opts.augment, opts.loop, inference)
        result = run_loop(model, opts.architecture, task, opts.loop, out)
        summary.update(steps=result.steps, resumed_from=result.resumed_from, device=result.device,
                       train_minutes=round(result.elapsed_seconds / 60, 2),
                       last_log=result.history[-1] if result.history else None)
        if opts.export:
            target = resolve_path(Path(opts.export).parent) / Path(opts.export).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, target)
            summary["exported"] = str(target)
    model, version = build_model(ModelSpec(opts.architecture, checkpoint=str(checkpoint)))
    summary.update(checkpoint=str(checkpoint), model_version=version,
                   config={"params": asdict(model.config), "data": asdict(opts.data), "augment": asdict(opts.augment),
                           "loop": asdict(opts.loop), "eval": asdict(opts.eval)})
    if opts.evaluate and corpus.heldout:
        eval_started = time.monotonic()
        trained = ModalityModel(opts.architecture, checkpoint=str(checkpoint), pooling=inference.pooling,
                                query_step=inference.query_step)
        results = trainer.evaluate(trained, corpus, opts.eval, opts.loop.device)
        results["seconds"] = round(time.monotonic() - eval_started, 1)
        summary["heldout"] = results
        (out / "heldout_eval.json").write_text(json.dumps(results, indent=2))
        table = format_results(results)
        (out / "heldout_eval.txt").write_text(table + "\n")
        log.info("held-out retrieval (%s):\n%s", version, table)
    summary["total_minutes"] = round((time.monotonic() - started) / 60, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def format_results(results: dict[str, Any]) -> str:
    """A plain-text table of a trainer's held-out results: a row per edit, a column per key of ``results["mean"]``;
    the mean of the extra edits (``mean_extra``), when there are any, is the last row."""
    keys = list(results["mean"])
    rows = {**results["edits"], "mean": results["mean"]}
    if "mean_extra" in results:
        rows["mean of extra edits"] = results["mean_extra"]
    first, width = max(16, *(len(n) + 2 for n in rows)), max(10, *(len(k) + 2 for k in keys))
    lines = [f"{'edit':<{first}}" + "".join(f"{k:>{width}}" for k in keys)]
    for name, row in rows.items():
        lines.append(f"{name:<{first}}" + "".join(f"{row[k]:>{width}.3f}" for k in keys))
    return "\n".join(lines)

"""The training loop: steps of NT-Xent on pairs of views, progress logs, checkpoints and resume, a time budget.

State lives in ``out_dir``: ``last.pt`` (model, optimiser, step, elapsed seconds; written every
``checkpoint_every`` steps and at the end, atomically), ``progress.jsonl`` (one row per logged step) and, at
the end, ``model.pt`` (the eval-mode model, written by :func:`avm.models.save_checkpoint`). A run started
again with ``resume`` continues from ``last.pt``: same step count, same learning-rate schedule, elapsed time
carried over (the budget covers the whole run), fresh random batches.

The loop knows nothing of audio or pictures: a :class:`PairTask` draws a batch and returns the embeddings of
its two views (:class:`avm.train.audio.pairs.PairBatches`, :class:`avm.train.visual.pairs.PairBatches`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from avm.config import ranged
from avm.models import resolve_device, save_checkpoint
from avm.train.loss import nt_xent

log = logging.getLogger(__name__)


@dataclass
class LoopOptions:
    """Batch shape, optimiser, schedule and bookkeeping (``train.loop``, shared by every modality)."""

    positions: int = ranged(32, 2)  # places per batch (audio: two views of augment.spans windows each; visual: pictures)
    temperature: float = ranged(0.05, 0.001)
    lr: float = ranged(2e-3, 0.0)
    min_lr_fraction: float = ranged(0.05, 0.0, 1.0)  # cosine decay to this fraction of lr at the end of the budget
    weight_decay: float = ranged(1e-4, 0.0)
    warmup_steps: int = ranged(100, 0)
    grad_clip: float = ranged(1.0, 0.01)
    max_steps: int = ranged(1_000_000, 1)
    max_minutes: float = ranged(40.0, 0.0)  # wall-clock budget (sampling, steps, checkpoints), over resumes too
    checkpoint_every: int = ranged(200, 1)
    log_every: int = ranged(20, 1)
    device: str = "auto"  # cuda when present
    threads: int = ranged(0, 0)  # torch threads on CPU; 0 = torch's default
    seed: int = 0
    resume: bool = True


class PairTask(Protocol):
    """One modality's batches: ``embed`` draws a batch and returns the L2-normalised embeddings [N, D] of its
    first and second views (row i of each is a positive pair)."""

    def describe(self) -> str: ...

    def reseed(self, seed: int) -> None: ...

    def embed(self, model: nn.Module, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]: ...


@dataclass
class TrainResult:
    """What a run did."""

    steps: int
    resumed_from: int
    elapsed_seconds: float
    device: str
    checkpoint: Path
    history: list[dict] = field(default_factory=list)


def _learning_rate(opts: LoopOptions, step: int, elapsed: float) -> float:
    """Linear warm-up, then cosine decay over whichever budget (steps or minutes) runs out first."""
    progress = min(1.0, max(step / opts.max_steps, elapsed / (opts.max_minutes * 60.0)))
    cosine = opts.min_lr_fraction + (1 - opts.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))
    return opts.lr * min(1.0, (step + 1) / max(1, opts.warmup_steps)) * cosine


def _save_state(path: Path, model: nn.Module, optimiser: torch.optim.Optimizer, step: int, elapsed: float) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"step": step, "elapsed": elapsed, "params": dataclasses.asdict(model.config),
                "model": model.state_dict(), "optimiser": optimiser.state_dict()}, tmp)
    tmp.replace(path)


def _load_state(path: Path, model: nn.Module, optimiser: torch.optim.Optimizer) -> tuple[int, float]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["params"] != dataclasses.asdict(model.config):
        raise ValueError(f"{path} was written for model params {state['params']}, "
                         f"not {dataclasses.asdict(model.config)}; "
                         "use another out_dir or resume=false")
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    return int(state["step"]), float(state["elapsed"])


def run_loop(model: nn.Module, architecture: str, task: PairTask, opts: LoopOptions,
             out_dir: str | Path) -> TrainResult:
    """Train ``model`` in place on ``task``'s pairs until ``max_steps`` or ``max_minutes``; see the module docstring."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(opts.device)
    if opts.threads and device.type == "cpu":
        torch.set_num_threads(opts.threads)
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    state_path = out / "last.pt"
    step, elapsed = 0, 0.0
    if opts.resume and state_path.exists():
        step, elapsed = _load_state(state_path, model, optimiser)
        log.info("resumed from %s at step %d (%.1f min done)", state_path, step, elapsed / 60)
    resumed_from = step
    task.reseed(opts.seed * 1_000_003 + step)
    log.info("training on %s: %s", device, task.describe())
    history: list[dict] = []
    window: list[tuple[float, float, float]] = []
    started, last_log = time.monotonic() - elapsed, time.monotonic()
    steps_at_log = step
    with (out / "progress.jsonl").open("a") as progress:
        while step < opts.max_steps and elapsed < opts.max_minutes * 60:
            lr = _learning_rate(opts, step, elapsed)
            for group in optimiser.param_groups:
                group["lr"] = lr
            za, zb = task.embed(model, device)
            loss, stats = nt_xent(za, zb, opts.temperature)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
            optimiser.step()
            step += 1
            elapsed = time.monotonic() - started
            window.append((loss.item(), stats.positive_cosine, stats.top1))
            if step % opts.log_every == 0 or step == opts.max_steps:
                now = time.monotonic()
                row = {"step": step, "loss": sum(w[0] for w in window) / len(window),
                       "positive_cosine": sum(w[1] for w in window) / len(window),
                       "top1": sum(w[2] for w in window) / len(window), "lr": lr,
                       "steps_per_s": (step - steps_at_log) / max(now - last_log, 1e-9), "elapsed_s": elapsed}
                history.append(row)
                progress.write(json.dumps(row) + "\n")
                progress.flush()
                log.info("step %d  loss %.3f  pos_cos %.3f  top1 %.3f  lr %.2e  %.2f steps/s  %.1f min", step,
                         row["loss"], row["positive_cosine"], row["top1"], lr, row["steps_per_s"], elapsed / 60)
                window, last_log, steps_at_log = [], now, step
            if step % opts.checkpoint_every == 0:
                _save_state(state_path, model, optimiser, step, elapsed)
    _save_state(state_path, model, optimiser, step, elapsed)
    model.eval().cpu()
    save_checkpoint(model, architecture, out / "model.pt")
    log.info("stopped at step %d after %.1f min; wrote %s", step, elapsed / 60, out / "model.pt")
    return TrainResult(step, resumed_from, elapsed, str(device), out / "model.pt", history)

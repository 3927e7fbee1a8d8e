"""The demo benchmark: a preset of the generator with 5 references, 4 pirated queries and 1 negative query.

Its edits are the mild ones (crop, letterbox, colour, blur, volume, re-encode), so that the untrained
baselines have something they can find; see :mod:`avm.bench.generate` for the outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avm.bench.generate import build_benchmark
from avm.bench.plan import BenchPlan, plan_benchmark
from avm.bench.preset import Preset

DEMO = Preset(
    name="demo", n_refs=5, n_distractors=0, n_pirated=4, n_negative=1, catalog_seconds=(40, 55),
    shot_seconds=(10, 20), visuals_per_video=(1, 1), speech_share=0.2, borrow_seconds=(10, 25),
    borrows_per_query=(1, 2), refs_per_query=(1, 2), filler_seconds=(3, 10), negative_seconds=(40, 50),
    edits_per_segment=(1, 3), edit_kinds=("crop", "letterbox", "color", "blur", "volume", "reencode"),
    min_per_kind=1, hard_share=0.0, filler_share=0.3)


def plan_demo(media_dir: Path, seed: int = 0) -> BenchPlan:
    """Decide every reference, query, borrowed segment and edit of the demo (no media is written)."""
    return plan_benchmark(media_dir, DEMO, seed)


def build_demo(media_dir: Path, out_dir: Path, seed: int = 0, jobs: int = 2) -> dict[str, Any]:
    """Build the demo benchmark from ``media_dir`` into ``out_dir`` (skipped when already built alike)."""
    return build_benchmark(media_dir, out_dir, DEMO, seed, jobs)

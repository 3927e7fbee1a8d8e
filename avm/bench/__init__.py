"""Benchmark builder: reference and pirated query videos with ground truth, from real open-licence media."""

from avm.bench.compose import Canvas, Clip, Encoding, Scene, Sound, Visual
from avm.bench.demo import BUILDER_VERSION, DemoPlan, Recipe, build_demo, discover_sources, plan_demo
from avm.bench.edits import EDITS, Edit, EditKind, apply_edits, edited_segment, make_edit, sample_edits

__all__ = ["BUILDER_VERSION", "EDITS", "Canvas", "Clip", "DemoPlan", "Edit", "EditKind", "Encoding", "Recipe",
           "Scene", "Sound", "Visual", "apply_edits", "build_demo", "discover_sources", "edited_segment",
           "make_edit", "plan_demo", "sample_edits"]

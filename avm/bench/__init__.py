"""Benchmark builder: catalog videos and pirated query videos with ground truth, from real open-licence media."""

from avm.bench.compose import Canvas, Clip, Encoding, Excerpt, Scene, Shot, Sound, Visual
from avm.bench.demo import DEMO, build_demo, plan_demo
from avm.bench.edits import (
                             EDITS,
                             HARD_EDITS,
                             Edit,
                             EditContext,
                             EditKind,
                             apply_edits,
                             edited_segment,
                             make_edit,
                             sample_edits,
)
from avm.bench.generate import BUILDER_VERSION, build_benchmark, summary
from avm.bench.plan import BenchPlan, Borrow, CatalogVideo, ChannelLogo, QueryPlan, SharedClip, plan_benchmark
from avm.bench.preset import Preset
from avm.bench.sources import NotEnoughMedia, Sources, discover_sources

__all__ = ["BUILDER_VERSION", "DEMO", "EDITS", "HARD_EDITS", "BenchPlan", "Borrow", "Canvas", "CatalogVideo",
           "ChannelLogo", "Clip", "Edit", "EditContext", "EditKind", "Encoding", "Excerpt", "NotEnoughMedia", "Preset",
           "QueryPlan", "Scene", "SharedClip", "Shot", "Sound", "Sources", "Visual", "apply_edits", "build_benchmark",
           "build_demo", "discover_sources", "edited_segment", "make_edit", "plan_benchmark", "plan_demo",
           "sample_edits", "summary"]

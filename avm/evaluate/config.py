"""The ``avm evaluate`` job's config."""

from __future__ import annotations

from dataclasses import dataclass, field

from avm.config import PathsConfig, one_of
from avm.evaluate.tables import EVIDENCE_ORDER


@dataclass
class EvaluateConfig:
    """Score predictions (a scan's matches directory or a CSV) against a hackathon ground-truth CSV, or against
    reviewers' verdicts."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    predictions: str = "${paths.output_dir}/scan/matches"
    run_id: str | None = None  # which scan run of a matches dataset; None: the latest
    ground_truth: str | None = None  # a hackathon ground-truth CSV; or give `verdicts`
    # a store (index.uri) whose reviewers' verdicts are the ground truth (`avm review`): the pairs judged "copy" are
    # the copies, and only the queries with a verdict are scored; `verdicts_run` keeps one run's verdicts
    verdicts: str | None = None
    verdicts_run: str | None = None
    output: str = "${paths.output_dir}/metrics.json"
    # edits.csv (ID_piracy,segment,ID_license,segment.1,edits,evidence) for the per-edit breakdown;
    # None: edits.csv beside the ground truth, if there is one
    edits: str | None = None
    # queries_meta.csv (video_id,kind with kind pirated|negative) to count false positives on negative queries;
    # None: queries_meta.csv beside the ground truth, if there is one
    queries_meta: str | None = None
    # where per_edit.csv, pr_curve.png, score_hist.png (and metrics.json) go; None: the folder of `output`
    report_dir: str | None = None
    label: str = "avm"  # system name in the report's JSON and figure titles
    # score only the copies with this evidence (needs edits.csv), e.g. [audio, both] for an audio-only scan: the
    # copies whose audio was kept; empty: every copy
    evidence: tuple[str, ...] = one_of((), EVIDENCE_ORDER)

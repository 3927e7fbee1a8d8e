"""avm evaluate predictions=... ground_truth=...: hackathon metric and VSC segment AP, overall and per edit,
as tables, JSON, a CSV and two PNG figures."""

from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.evaluate import (
    REPORT_FILES,
    format_breakdown,
    format_table,
    read_ground_truth_csv,
    read_predictions,
    write_json,
    write_report,
)
from avm.evaluate.config import EvaluateConfig
from avm.index import FingerprintStore, IndexOptions, read_verdicts
from avm.storage import is_object_store
from avm.types import Segment
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


def beside_ground_truth(value: str | None, ground_truth: Path | None, name: str) -> pd.DataFrame | None:
    """The CSV at ``value``, else ``name`` beside the ground truth if it exists, else None (all text)."""
    if value is None and ground_truth is None:
        return None
    path = Path(value) if value is not None else ground_truth.parent / name
    if value is None and not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def require_input(key: str, value: str, hint: str = "") -> None:
    """Raise a :class:`UserError` when option ``key`` names a local path that does not exist."""
    if not is_object_store(value) and not Path(value).exists():
        raise UserError(f"{key}={value}: no such file or folder{hint}")


def verdict_ground_truth(job: EvaluateConfig, predictions: list[Segment]) -> tuple[list[Segment], list[Segment]]:
    """The predictions of the queries reviewers judged, and the pairs they judged copies (latest verdicts)."""
    store = FingerprintStore(IndexOptions(uri=job.verdicts))
    if not store.exists():
        raise UserError(f"verdicts={job.verdicts}: no store there")
    verdicts = read_verdicts(store, job.verdicts_run)
    if not verdicts:
        raise UserError(f"verdicts={job.verdicts}: no verdict saved{' for run ' + job.verdicts_run if job.verdicts_run else ''}")
    reviewed = {v.pair.query_id for v in verdicts}
    copies = {(p.query_id, p.query_start, p.query_end, p.ref_id, p.ref_start, p.ref_end): p
              for p in (v.pair for v in verdicts if v.verdict == "copy")}
    print(f"ground truth: {len(verdicts)} verdicts on {len(reviewed)} queries, {len(copies)} pairs judged copies")
    return [p for p in predictions if p.query_id in reviewed], list(copies.values())


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
@reported("evaluate")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, EvaluateConfig)
    if (job.ground_truth is None) == (job.verdicts is None):
        raise UserError("ground_truth is required (set ground_truth=<hackathon CSV>, or verdicts=<store> to score "
                        "against reviewers' verdicts; not both)")
    require_input("predictions", job.predictions, " (run avm scan first, or set predictions=)")
    if job.ground_truth:
        require_input("ground_truth", job.ground_truth)
    ground_truth, output = (Path(job.ground_truth) if job.ground_truth else None), Path(job.output)
    edits = beside_ground_truth(job.edits, ground_truth, "edits.csv")
    meta = beside_ground_truth(job.queries_meta, ground_truth, "queries_meta.csv")
    if job.evidence and edits is None:
        raise UserError(f"evidence=[{','.join(job.evidence)}] needs the edits table: set edits=, or put edits.csv "
                        "beside the ground truth")
    report_dir = Path(job.report_dir) if job.report_dir is not None else output.parent
    try:
        predictions = read_predictions(job.predictions, job.run_id)
        truth = None if ground_truth is None else read_ground_truth_csv(ground_truth)
    except ValueError as err:  # a malformed input: the message names the file (and the line)
        raise UserError(str(err)) from err
    if truth is None:
        predictions, truth = verdict_ground_truth(job, predictions)
    report = write_report(predictions, truth, report_dir, edits_df=edits, queries_meta=meta, label=job.label,
                          evidence=tuple(job.evidence))
    written = [report_dir / name for name in REPORT_FILES]
    if output.resolve() != (report_dir / "metrics.json").resolve():
        write_json(report, output)
        written.append(output)
    print(format_table({k: v for k, v in report.items() if k not in ("label", "breakdown")}))
    if edits is not None:
        print()
        print(format_breakdown(pd.DataFrame(report["breakdown"])))
    print("wrote " + ", ".join(map(str, written)))


if __name__ == "__main__":
    main()

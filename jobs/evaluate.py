"""avm evaluate predictions=... ground_truth=...: hackathon metric and VSC segment AP, overall and per edit,
as tables, JSON, a CSV and two PNG figures."""

from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
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
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


def beside_ground_truth(value: str | None, ground_truth: Path, name: str) -> pd.DataFrame | None:
    """The CSV at ``value``, else ``name`` beside the ground truth if it exists, else None (all text)."""
    path = Path(value) if value is not None else ground_truth.parent / name
    if value is None and not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
@reported("evaluate")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, EvaluateConfig)
    ground_truth, output = Path(job.ground_truth), Path(job.output)
    edits = beside_ground_truth(job.edits, ground_truth, "edits.csv")
    meta = beside_ground_truth(job.queries_meta, ground_truth, "queries_meta.csv")
    report_dir = Path(job.report_dir) if job.report_dir is not None else output.parent
    report = write_report(read_predictions(job.predictions, job.run_id), read_ground_truth_csv(ground_truth), report_dir,
                          edits_df=edits, queries_meta=meta, label=job.label, evidence=tuple(job.evidence))
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

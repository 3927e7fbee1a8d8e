"""avm evaluate predictions=... ground_truth=...: hackathon metric and VSC segment AP, overall and per edit,
as tables, JSON, a CSV and two PNG figures."""

from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig

from avm.evaluate import read_ground_truth_csv, read_predictions, write_json
from avm.evaluate.report import REPORT_FILES, format_breakdown, format_table, write_report
from jobs import CONFIG_DIR


def beside_ground_truth(value: str | None, ground_truth: Path, name: str) -> pd.DataFrame | None:
    """The CSV at ``value``, else ``name`` beside the ground truth if it exists, else None (all text)."""
    path = Path(value) if value is not None else ground_truth.parent / name
    if value is None and not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    ground_truth, output = Path(cfg.ground_truth), Path(cfg.output)
    edits = beside_ground_truth(cfg.edits, ground_truth, "edits.csv")
    meta = beside_ground_truth(cfg.queries_meta, ground_truth, "queries_meta.csv")
    report_dir = Path(cfg.report_dir) if cfg.report_dir is not None else output.parent
    report = write_report(read_predictions(str(cfg.predictions)), read_ground_truth_csv(ground_truth), report_dir,
                          edits_df=edits, queries_meta=meta, label=str(cfg.label),
                          evidence=tuple(cfg.evidence))
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

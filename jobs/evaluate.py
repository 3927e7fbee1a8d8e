"""avm evaluate predictions=... ground_truth=...: hackathon metric and VSC segment AP, as a table and JSON."""

import hydra
from omegaconf import DictConfig

from avm.evaluate import evaluate, format_table, read_ground_truth_csv, read_predictions, write_json
from jobs import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    metrics = evaluate(read_predictions(str(cfg.predictions)), read_ground_truth_csv(str(cfg.ground_truth)))
    write_json(metrics, str(cfg.output))
    print(format_table(metrics))
    print(f"wrote {cfg.output}")


if __name__ == "__main__":
    main()

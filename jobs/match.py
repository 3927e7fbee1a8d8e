"""avm match FILE: one file against the catalog, in-process, printed as a table."""

import hydra
import pandas as pd
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.media.source import check_input
from avm.pipeline import match_file
from avm.pipeline.config import MatchFileConfig
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="match_file")
@reported("match")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, MatchFileConfig)
    check_input(job.file, job.media.allowed_schemes)  # a missing or empty file fails before the catalog is opened
    segments = match_file(job, job.file)
    if not segments:
        print(f"{job.file}: no copied segment found")
        return
    frame = pd.DataFrame([s.to_row("match") for s in segments]).drop(columns=["run_id"])
    print(frame.sort_values(["score"], ascending=False).to_string(index=False, float_format=lambda x: f"{x:.2f}"))


if __name__ == "__main__":
    main()

"""avm match FILE: one file against the catalog, printed as a table."""

import hydra
from omegaconf import DictConfig

from avm.pipeline.runner import match_file_from_config
from jobs import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="match_file")
def main(cfg: DictConfig) -> None:
    table = match_file_from_config(cfg, str(cfg.file))
    if table.num_rows == 0:
        print(f"{cfg.file}: no copied segment found")
        return
    frame = table.drop_columns(["run_id"]).to_pandas().sort_values(["score"], ascending=False)
    print(frame.to_string(index=False, float_format=lambda x: f"{x:.2f}"))


if __name__ == "__main__":
    main()

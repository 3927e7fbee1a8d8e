"""avm demo: build the bundled demo catalog and pirated queries, ingest, scan, evaluate."""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from avm.bench.demo import build_demo
from avm.evaluate import evaluate, format_table, read_ground_truth_csv, read_predictions, write_json
from avm.manifest import read_inputs
from avm.pipeline.runner import ingest_from_config, scan_from_config
from jobs import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="demo")
def main(cfg: DictConfig) -> None:
    out = Path(cfg.paths.output_dir)
    built = build_demo(Path(cfg.demo_media), out / "media", seed=int(cfg.seed))
    ingest = ingest_from_config(cfg, read_inputs(str(out / "media" / "refs.csv")))
    scan_from_config(cfg, read_inputs(str(out / "media" / "queries.csv")), out)
    metrics = evaluate(read_predictions(str(out / "matches")), read_ground_truth_csv(str(out / "media" / "ground_truth.csv")))
    write_json(metrics, str(out / "metrics.json"))
    print("\n".join(ingest.lines()))
    print(format_table(metrics))
    print(f"demo media: {built['n_refs']} references, {built['n_queries']} queries ({built['n_negative']} negative), "
          f"{built['n_borrowed']} borrowed segments in {built['out_dir']}")
    print(f"wrote {out / 'matches'} and {out / 'metrics.json'}")


if __name__ == "__main__":
    main()

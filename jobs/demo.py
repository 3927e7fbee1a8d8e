"""avm demo: build the bundled demo catalog and pirated queries, ingest, scan, evaluate."""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from avm.bench.demo import build_demo
from avm.config import CONFIG_DIR, to_options
from avm.evaluate import evaluate, format_table, read_ground_truth_csv, read_predictions, write_json
from avm.manifest import read_inputs
from avm.pipeline.config import DemoConfig
from avm.pipeline.runner import ingest, scan
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="demo")
@reported("demo")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, DemoConfig)
    out = Path(job.paths.output_dir)
    built = build_demo(Path(job.demo_media), out / "media", seed=job.seed)
    summary = ingest(job.ingest_config(), read_inputs(str(out / "media" / "refs.csv")))
    scan(job.scan_config(str(out)), read_inputs(str(out / "media" / "queries.csv")))
    metrics = evaluate(read_predictions(str(out / "matches")),
                       read_ground_truth_csv(str(out / "media" / "ground_truth.csv")))
    write_json(metrics, str(out / "metrics.json"))
    print("\n".join(summary.lines()))
    print(format_table(metrics))
    print(f"demo media: {built['n_refs']} references, {built['n_queries']} queries ({built['n_negative']} negative), "
          f"{built['n_borrowed']} borrowed segments in {built['out_dir']}")
    print(f"wrote {out / 'matches'} and {out / 'metrics.json'}")
    print(f"review the copies found, side by side in a browser: avm review paths.output_dir={out} results={out}")


if __name__ == "__main__":
    main()

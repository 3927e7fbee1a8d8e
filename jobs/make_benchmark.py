"""avm bench make: build a piracy benchmark from folders of real media (bench=small|standard|hard)."""

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig

from avm.bench.config import BenchConfig
from avm.bench.generate import build_benchmark
from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.paths import PACKAGE_ROOT
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()


def _from_repo(path: str) -> Path:
    """``path`` as given when absolute, else relative to the repository root."""
    return Path(path) if Path(path).is_absolute() else (PACKAGE_ROOT / path).resolve()


def media_dirs(job: BenchConfig) -> list[Path]:
    """The main media folder (a :class:`UserError` when it does not exist) and the extra ones that exist."""
    main_dir = _from_repo(job.media_dir)
    if not main_dir.is_dir():
        shown = "" if str(main_dir) == job.media_dir else f" ({main_dir})"
        raise UserError(f"media_dir={job.media_dir}: no such folder{shown}")
    extra = [_from_repo(d) for d in job.extra_media_dirs]
    for missing in (d for d in extra if not d.is_dir()):
        print(f"note: extra media folder {missing} not found, skipped (scripts/fetch_extra_media.sh fills it)")
    return [main_dir, *(d for d in extra if d.is_dir())]


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="make_benchmark")
@reported("bench make")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, BenchConfig)
    preset = job.bench
    built = build_benchmark(media_dirs(job), Path(job.out_dir), preset, seed=job.seed, jobs=job.jobs)
    state = "already built" if built["skipped"] else f"built in {built['seconds']:.0f} s"
    print(f"benchmark {preset.name!r} (seed {built['seed']}) {state}: {built['out_dir']}")
    print(f"catalog: {built['n_catalog']} videos, {built['catalog_hours']:.2f} h ({built['n_refs']} references, "
          f"{built['n_distractors']} distractors)")
    print(f"queries: {built['n_queries']}, {built['query_hours']:.2f} h ({built['n_negative']} negative); "
          f"{built['n_borrowed']} borrowed segments ({built['n_hard_segments']} with a hard edit), "
          f"evidence {json.dumps(built['evidence'])}")
    print("segments per edit: " + ", ".join(f"{k} {v}" for k, v in built["edit_counts"].items()))
    shared = {k: v for k, v in built.get("catalog_shared", {}).items() if v}
    if shared or built.get("n_negative_shared"):
        print("shared content: catalog videos with " + ", ".join(f"{k} {v}" for k, v in shared.items())
              + f"; {built.get('n_negative_shared', 0)} negative queries carry it")


if __name__ == "__main__":
    main()

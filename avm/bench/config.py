"""The ``avm bench make`` job's config: which preset, from which media folders, into which folder."""

from __future__ import annotations

from dataclasses import dataclass, field

from avm.bench.preset import Preset
from avm.config import PathsConfig, ranged


@dataclass
class BenchConfig:
    """Build a piracy benchmark (catalog, queries, ground truth, edits table) from folders of real media.

    Media folders are laid out like ``../shared/media`` (footage/, photos/, music/, speech/); relative paths are
    taken from the repository root. Extra folders that do not exist are skipped with a note
    (``scripts/fetch_extra_media.sh`` fills ``outputs/extra_media`` with the photos ``bench=standard`` needs).
    """

    paths: PathsConfig = field(default_factory=PathsConfig)
    bench: Preset = field(default_factory=Preset)
    media_dir: str = "../shared/media"
    extra_media_dirs: list[str] = field(default_factory=lambda: ["outputs/extra_media"])
    out_dir: str = "${paths.output_dir}/bench/${bench.name}"
    seed: int = 0
    jobs: int = ranged(2, 1)  # files encoded at a time

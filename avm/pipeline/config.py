"""The pipeline jobs' configs (Hydra structured configs: the fields are the config groups plus the job's own keys)
and the ``ray`` group."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from avm.config import PathsConfig, one_of, ranged
from avm.fingerprint import FingerprintOptions
from avm.index import IndexOptions, SearchOptions
from avm.match import MatchConfig
from avm.media import DecodeOptions
from avm.pipeline.stage import Stage, StageResources
from avm.pipeline.stages import DecodeStage, FingerprintStage, QueryStage
from avm.schema import VIDEO_STATUSES

ON_CHANGE = ("replace", "refuse")  # an id the catalog holds with another file: fingerprint it again | fail it
REINDEX_ACTIONS = ("build", "rollback", "cleanup")


def _declared(stage: type[Stage]) -> Any:
    """A default factory: the resources ``stage`` declares."""
    return lambda: dataclasses.replace(stage.default_resources)


@dataclass
class RayOptions:
    """How Ray runs, and the resources of each stage (the ``ray`` config group)."""

    address: str | None = None  # None: RAY_ADDRESS if set, else a local Ray started by the job
    num_cpus: int | None = ranged(None, 0)  # local Ray only; None or 0 = all cores
    progress_bars: bool = False
    runtime_env: dict[str, Any] | None = None
    # per stage: CPUs and GPUs of each worker, actors (0: Ray tasks) and rows per call; defaults: the stage's own
    decode: StageResources = field(default_factory=_declared(DecodeStage))
    embed: StageResources = field(default_factory=_declared(FingerprintStage))
    query: StageResources = field(default_factory=_declared(QueryStage))


@dataclass
class CatalogConfig:
    """The groups of every job that reads or writes the catalog: outputs, media, models and the store."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    media: DecodeOptions = field(default_factory=DecodeOptions)
    model: FingerprintOptions = field(default_factory=FingerprintOptions)
    index: IndexOptions = field(default_factory=IndexOptions)


@dataclass
class MatchingConfig(CatalogConfig):
    """The groups of every job that matches queries against the catalog."""

    match: MatchConfig = field(default_factory=MatchConfig)
    search: SearchOptions = field(default_factory=SearchOptions)


@dataclass
class IngestConfig(CatalogConfig):
    """``avm ingest``: fingerprint the files of ``input`` into the catalog."""

    ray: RayOptions = field(default_factory=RayOptions)
    input: str = MISSING  # a manifest (CSV, Parquet, JSONL), a directory or a glob
    write_batch_rows: int = ranged(500_000, 1)  # fingerprint rows per commit
    on_change: str = one_of("replace", ON_CHANGE)


@dataclass
class ScanConfig(MatchingConfig):
    """``avm scan``: the segment pairs of ``queries`` (files, or the whole catalog) against the catalog."""

    ray: RayOptions = field(default_factory=RayOptions)
    queries: str = "catalog"  # a manifest, a directory or a glob; "catalog": every catalog video against the others
    output_dir: str = "${paths.output_dir}/scan"


@dataclass
class NightlyConfig(MatchingConfig):
    """``avm nightly``: the day's uploads decoded once, added to the catalog, then scanned against it (the earlier
    catalog and each other)."""

    ray: RayOptions = field(default_factory=RayOptions)
    input: str = MISSING  # a manifest (CSV, Parquet, JSONL), a directory or a glob, local or on S3
    output_dir: str = "${paths.output_dir}/scan"
    write_batch_rows: int = ranged(500_000, 1)  # fingerprint rows per commit
    on_change: str = one_of("replace", ON_CHANGE)

    def ingest_config(self) -> IngestConfig:
        """The night's ingest of its uploads."""
        return ingest_settings(self, input=self.input, write_batch_rows=self.write_batch_rows,
                               on_change=self.on_change)

    def scan_config(self) -> ScanConfig:
        """The night's scan of its uploads, once in the catalog, against the catalog."""
        return ScanConfig(paths=self.paths, media=self.media, model=self.model, index=self.index, match=self.match,
                          search=self.search, ray=self.ray, output_dir=self.output_dir)


@dataclass
class ReindexConfig(CatalogConfig):
    """``avm reindex``: switch the catalog to the configured models (build), back (rollback), or drop old tables."""

    ray: RayOptions = field(default_factory=RayOptions)
    action: str = one_of("build", REINDEX_ACTIONS)
    write_batch_rows: int = ranged(500_000, 1)  # fingerprint rows per commit
    catch_up_rounds: int = ranged(5, 0)  # passes over videos ingested while it ran, before the swap


@dataclass
class StoreConfig:
    """The groups of jobs that only read or edit the store's tables (delete, list, stats)."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    index: IndexOptions = field(default_factory=IndexOptions)


@dataclass
class DeleteConfig(StoreConfig):
    """``avm delete``: take videos down (by ``ids`` and/or the ids of a ``manifest``), with a reason for the audit."""

    ids: list[str] = field(default_factory=list)
    manifest: str | None = None  # a manifest, directory or glob: the ids its files get (avm.manifest.read_inputs)
    reason: str = MISSING  # recorded in the audit table
    user: str | None = None  # recorded in the audit table (default: the login name)
    dry_run: bool = False  # report what would be removed, remove nothing


@dataclass
class InventoryConfig(StoreConfig):
    """``avm list`` / ``avm stats``: what the catalog holds, printed and written as Parquet/JSON."""

    status: str | None = one_of(None, VIDEO_STATUSES)  # list only videos with this status
    output: str = "${paths.output_dir}/catalog"  # folder for videos.parquet / stats.json
    limit: int = ranged(50, 0)  # rows printed by avm list (the Parquet file has them all)


@dataclass
class MatchFileConfig(MatchingConfig):
    """``avm match FILE``: one file against the catalog, in this process."""

    file: str = MISSING


@dataclass
class DemoConfig(MatchingConfig):
    """``avm demo``: build the bundled demo catalog and queries, ingest, scan, evaluate."""

    ray: RayOptions = field(default_factory=RayOptions)
    demo_media: str = "data/demo"  # the bundled footage, music and photos the demo is built from
    seed: int = 0
    write_batch_rows: int = ranged(500_000, 1)

    def ingest_config(self) -> IngestConfig:
        """The demo's ingest of its catalog."""
        return ingest_settings(self, write_batch_rows=self.write_batch_rows)

    def scan_config(self, output_dir: str) -> ScanConfig:
        """The demo's scan of its queries, written under ``output_dir``."""
        return ScanConfig(paths=self.paths, media=self.media, model=self.model, index=self.index, match=self.match,
                          search=self.search, ray=self.ray, output_dir=output_dir)


def ingest_settings(cfg: ScanConfig | DemoConfig | NightlyConfig, **job: Any) -> IngestConfig:
    """An ingest with the groups of a scan (or demo) config, so that both read and write the same catalog."""
    return IngestConfig(paths=cfg.paths, media=cfg.media, model=cfg.model, index=cfg.index, ray=cfg.ray, **job)

"""Every job's config schema, registered with Hydra's ConfigStore: the option dataclasses are the only defaults.

Each primary config in ``conf/`` (``scan.yaml``, ...) starts its defaults list with ``<job>_schema`` and then picks
its groups; the group files hold presets and overrides only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from avm.bench.config import BenchConfig
from avm.evaluate.config import EvaluateConfig
from avm.index import IndexOptions
from avm.pipeline.config import (
    DeleteConfig,
    DemoConfig,
    IngestConfig,
    InventoryConfig,
    MatchFileConfig,
    NightlyConfig,
    ReindexConfig,
    ScanConfig,
)
from avm.review.config import ReviewConfig
from avm.train.config import SCHEMAS as TRAIN_SCHEMAS
from avm.train.config import TrainConfig
from avm.train.projection import ProjectionConfig


@dataclass
class FitProjectionConfig(ProjectionConfig):
    """``avm fit-projection``: :class:`ProjectionConfig` and, for ``projection.source=catalog``, the store fitted on."""

    index: IndexOptions = field(default_factory=IndexOptions)


JOB_SCHEMAS = {
    "ingest": IngestConfig,
    "scan": ScanConfig,
    "nightly": NightlyConfig,
    "match_file": MatchFileConfig,
    "demo": DemoConfig,
    "evaluate": EvaluateConfig,
    "make_benchmark": BenchConfig,
    "train": TrainConfig,
    "reindex": ReindexConfig,
    "delete": DeleteConfig,
    "inventory": InventoryConfig,
    "fit_projection": FitProjectionConfig,
    "review": ReviewConfig,
}


def register_configs() -> None:
    """Store every job's schema as ``<job>_schema`` and the training schemas in the ``train`` group."""
    store = ConfigStore.instance()
    for name, schema in JOB_SCHEMAS.items():
        store.store(name=f"{name}_schema", node=schema)
    for modality, schema in TRAIN_SCHEMAS.items():  # the base of conf/train/<modality>.yaml
        store.store(group="train", name=f"{modality}_schema", node=schema)

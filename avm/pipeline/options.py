"""Turn the Hydra config tree into the plain option dataclasses each stage takes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from omegaconf import DictConfig, OmegaConf

from avm.fingerprint import FingerprintOptions, PoolingOptions
from avm.index import IndexOptions
from avm.match import MatchOptions
from avm.media import DecodeOptions
from avm.schema import MODALITIES
from avm.models import ModelSpec
from avm.train import LoopOptions, TrainJob
from avm.train.run import MODALITIES as TRAIN_MODALITIES


@dataclass(frozen=True)
class RayOptions:
    """How Ray runs and how many workers each stage gets (mirrors the ``ray`` config group)."""

    address: str | None = None  # None: RAY_ADDRESS if set, else a local Ray started by the job
    num_cpus: int | None = None  # local Ray only; None = all cores
    decode_cpus: float = 1.0  # CPUs per decode task
    embed_actors: int = 1  # fingerprint actor pool size (max); min is 1
    embed_cpus: float = 0.0
    embed_gpus: float = 0.0
    embed_batch_size: int = 4  # files per actor call
    query_actors: int = 1
    query_cpus: float = 0.0
    progress_bars: bool = False
    runtime_env: dict[str, Any] | None = None


def _plain(cfg: DictConfig | dict | None) -> dict[str, Any]:
    if cfg is None:
        return {}
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)


def _build(cls: type, cfg: DictConfig | dict | None, **extra: Any) -> Any:
    """Instantiate dataclass ``cls`` from the matching keys of ``cfg`` (unknown keys are an error)."""
    values = {**_plain(cfg), **extra}
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} settings: {sorted(unknown)} (known: {sorted(names)})")
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return cls(**values)


def decode_options(cfg: DictConfig) -> DecodeOptions:
    """Media settings → DecodeOptions; modalities not in ``model.modalities`` are not decoded."""
    modalities = tuple(cfg.model.modalities)
    return _build(DecodeOptions, cfg.media, decode_audio="audio" in modalities, decode_video="visual" in modalities)


def fingerprint_options(cfg: DictConfig) -> FingerprintOptions:
    """Model settings → FingerprintOptions (one ModelSpec and PoolingOptions per modality)."""
    model = _plain(cfg.model)
    modalities = tuple(model.pop("modalities"))
    specs = {m: ModelSpec(**{k: v for k, v in model[m].items() if k not in ("pooling", "query_step")})
             for m in modalities}
    pooling = {m: _build(PoolingOptions, model[m].get("pooling")) for m in modalities}
    rest = {k: v for k, v in model.items() if k not in ("audio", "visual")}
    return _build(FingerprintOptions, rest, models=specs, pooling=pooling, modalities=modalities)


def query_steps(cfg: DictConfig) -> dict[str, float]:
    """The pooling step of query fingerprints per modality (may be finer than the index step)."""
    return {m: float(cfg.model[m].query_step) for m in cfg.model.modalities if cfg.model[m].get("query_step")}


def index_options(cfg: DictConfig) -> IndexOptions:
    return _build(IndexOptions, cfg.index)


def match_options(cfg: DictConfig) -> dict[str, MatchOptions]:
    """Match settings of every modality in ``model.modalities``: the shared ones, then ``match.modality.<m>``."""
    shared = {k: v for k, v in _plain(cfg.match).items() if k != "modality"}
    overrides = _plain(cfg.match.get("modality"))
    unknown = set(overrides) - set(MODALITIES)
    if unknown:
        raise ValueError(f"match.modality names unknown modalities {sorted(unknown)} (known: {list(MODALITIES)})")
    return {m: _build(MatchOptions, {**shared, **(overrides.get(m) or {})}) for m in cfg.model.modalities}


def ray_options(cfg: DictConfig) -> RayOptions:
    return _build(RayOptions, cfg.ray)


def train_job(cfg: DictConfig) -> TrainJob:
    """``train`` settings (+ the pooling and query step of ``model.<train.modality>``) → TrainJob.

    The data, augmentation and evaluation option classes are the modality's own (``avm.train.run.MODALITIES``).
    """
    train = _plain(cfg.train)
    modality = train.get("modality", "audio")
    if modality not in TRAIN_MODALITIES:
        raise ValueError(f"train.modality {modality!r} is unknown; known: {sorted(TRAIN_MODALITIES)}")
    spec = TRAIN_MODALITIES[modality]
    parts = {"data": spec.data, "augment": spec.augment, "loop": LoopOptions, "eval": spec.eval}
    built = {key: _build(cls, train.pop(key, None)) for key, cls in parts.items()}
    model = cfg.model[modality]
    return _build(TrainJob, train, **built, pooling=_build(PoolingOptions, model.get("pooling")),
                  query_step=float(model.query_step))

"""Where the config tree lies and how a composed config becomes typed option objects.

The option dataclasses of each package are the only source of defaults; they are registered as Hydra structured
configs (``jobs/schemas.py``), and the YAML files of ``conf/`` hold presets and overrides only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

# conf/ at the repository root; avm/conf links to it so that an installed package carries it as package data
CONFIG_DIR = str((Path(__file__).resolve().parent / "conf").resolve())

T = TypeVar("T")


@dataclass
class PathsConfig:
    """Where jobs write (the ``paths`` group; relative paths are taken from the working directory)."""

    output_dir: str = "outputs"


def _tuples_back(obj: Any) -> Any:
    """OmegaConf turns tuples into lists: give fields whose default is a tuple a tuple again (recursively)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    for f in dataclasses.fields(obj):
        value = _tuples_back(getattr(obj, f.name))
        if isinstance(value, list) and isinstance(f.default, tuple):
            value = tuple(value)
        setattr(obj, f.name, value)
    return obj


def to_options(cfg: DictConfig | dict[str, Any], cls: type[T]) -> T:
    """``cfg`` (a composed config node or a plain mapping) as an instance of the dataclass ``cls``.

    Keys ``cls`` does not know raise an error naming them; interpolations are resolved.
    """
    node = OmegaConf.merge(OmegaConf.structured(cls), cfg)
    return _tuples_back(OmegaConf.to_object(node))

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
from omegaconf.errors import OmegaConfBaseException

from avm.errors import UserError

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


def ranged(default: Any, low: float | None = None, high: float | None = None) -> Any:
    """A dataclass field with ``default`` whose value, unless None, must lie in [``low``, ``high``] (None: no bound
    on that side); :func:`to_options` checks it."""
    return dataclasses.field(default=default, metadata={"range": (low, high)})


def one_of(default: Any, choices: tuple[Any, ...]) -> Any:
    """A dataclass field with ``default`` whose value, unless None, must be one of ``choices`` (a tuple value:
    one or more of them, or none where the default is none); :func:`to_options` checks it."""
    empty_allowed = isinstance(default, tuple) and not default
    return dataclasses.field(default=default, metadata={"choices": tuple(choices), "empty_allowed": empty_allowed})


def _refusal(value: Any, metadata: Any) -> str | None:
    """Why ``value`` breaks the range or choices in a field's ``metadata`` (None: it does not)."""
    if "choices" in metadata:
        choices = ", ".join(map(str, metadata["choices"]))
        if isinstance(value, (list, tuple)):  # a sequence of choices: each known, at least one unless allowed
            known = all(v in metadata["choices"] for v in value) and (value or metadata["empty_allowed"])
            return None if known else f"must be one or more of {choices}"
        return None if value in metadata["choices"] else f"must be one of {choices}"
    low, high = metadata.get("range", (None, None))
    if isinstance(value, bool) or not ((low is not None and value < low) or (high is not None and value > high)):
        return None
    return "is out of range: it must be " + (f"between {low} and {high}" if low is not None and high is not None
                                              else f"at least {low}" if low is not None else f"at most {high}")


def check_values(options: Any, prefix: str = "") -> None:
    """Raise a :class:`UserError` naming the first field of ``options`` (nested dataclasses included, keys as
    ``prefix`` + dotted path) whose value breaks the range (:func:`ranged`) or choices (:func:`one_of`) it declares."""
    for f in dataclasses.fields(options):
        value, key = getattr(options, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            check_values(value, f"{key}.")
        elif value is not None and (why := _refusal(value, f.metadata)):
            shown = f"[{','.join(map(str, value))}]" if isinstance(value, (list, tuple)) else value  # as typed
            raise UserError(f"{key}={shown} {why}")


def to_options(cfg: DictConfig | dict[str, Any], cls: type[T]) -> T:
    """``cfg`` (a composed config node or a plain mapping) as an instance of the dataclass ``cls``.

    Keys ``cls`` does not know raise an error naming them; interpolations are resolved; a value outside the range
    or choices its field declares (:func:`ranged`, :func:`one_of`), or one an option class's own check refuses,
    raises a :class:`UserError`.
    """
    node = OmegaConf.merge(OmegaConf.structured(cls), cfg)
    try:
        options = _tuples_back(OmegaConf.to_object(node))
    except OmegaConfBaseException:  # a user error already, naming its key
        raise
    except ValueError as exc:  # an option class's own check of the values given (its __post_init__)
        raise UserError(str(exc)) from exc
    check_values(options)
    return options

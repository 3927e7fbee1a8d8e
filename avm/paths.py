"""Paths given relative to the repository (checkpoints, training data) work from any working directory."""

from __future__ import annotations

from pathlib import Path

# The folder holding the ``avm`` package: the repository root of a checkout (editable install), or
# site-packages for a wheel, where package data such as avm/models/checkpoints/ lies beside the code.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def resolve_path(path: str | Path) -> Path:
    """``path`` as given when it exists (absolute, or relative to the working directory), else relative to
    :data:`PACKAGE_ROOT` when it exists there; otherwise unchanged (the caller reports it missing)."""
    given = Path(path).expanduser()
    if given.is_absolute() or given.exists():
        return given
    beside = PACKAGE_ROOT / given
    return beside if beside.exists() else given

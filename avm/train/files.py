"""Training files of any modality: inputs that exist, excluded files left out, a stable held-out split."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

from avm.manifest import ManifestEntry
from avm.paths import resolve_path

log = logging.getLogger(__name__)


def existing_specs(specs: Sequence[str]) -> list[str]:
    """Input specs resolved with :func:`avm.paths.resolve_path`; missing folders are skipped with a warning."""
    found = []
    for spec in specs:
        path = resolve_path(spec)
        if path.exists() or any(ch in spec for ch in "*?["):
            found.append(str(path))
        else:
            log.warning("training input %s not found; skipped", spec)
    return found


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts`` (stable across runs and machines)."""
    digest = hashlib.sha1("\0".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def split_heldout(entries: list[ManifestEntry], fraction: float,
                  seed: int) -> tuple[list[ManifestEntry], list[ManifestEntry]]:
    """(train, held-out): the ``fraction`` of files with the lowest hash of their id, at least one of each when
    there are two or more files and ``fraction`` > 0. Stable when files are added (a file's hash never changes)."""
    ranked = sorted(entries, key=lambda e: unit_hash(seed, e.video_id))
    n_held = 0 if fraction <= 0 or len(entries) < 2 else min(len(entries) - 1, max(1, round(fraction * len(entries))))
    held = {e.uri for e in ranked[:n_held]}
    return [e for e in entries if e.uri not in held], [e for e in entries if e.uri in held]


def training_entries(train: Sequence[str], exclude: Sequence[str],
                     list_files: Callable[[Sequence[str]], list[ManifestEntry]],
                     name: Callable[[ManifestEntry], str], what: str, fetch_script: str) -> list[ManifestEntry]:
    """The files of ``train`` without those of ``exclude``, matched by path and by ``name`` (so a copy of an
    excluded file elsewhere stays out); an error naming both and ``fetch_script`` when nothing is left."""
    found, excluded = list_files(train), list_files(exclude)
    names, uris = {name(e) for e in excluded}, {e.uri for e in excluded}
    entries = [e for e in found if e.uri not in uris and name(e) not in names]
    if not entries:
        raise FileNotFoundError(f"no training {what} in {list(train)} ({len(found)} files found, "
                                f"{len(found) - len(entries)} of them excluded by {list(exclude)}); "
                                f"{fetch_script} fetches the default set")
    if len(entries) < len(found):
        log.info("excluded %d files named in %s", len(found) - len(entries), list(exclude))
    return entries

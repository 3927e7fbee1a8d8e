"""Content hashes of input files, so the same bytes are never ingested twice under two ids."""

from __future__ import annotations

import hashlib

from avm.media.source import local_path

_CHUNK = 1 << 20


def content_hash(uri: str) -> str | None:
    """BLAKE2b-128 of a local file's bytes (hex); None for remote URIs, which are not read twice."""
    path = local_path(uri)
    if path is None:
        return None
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

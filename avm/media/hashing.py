"""Content hashes of input files, so the same bytes are never ingested twice under two ids."""

from __future__ import annotations

import hashlib
import os
import stat

from avm.media.errors import MediaError
from avm.media.source import local_path, regular_file, remote_object
from avm.storage import is_object_store

_CHUNK = 1 << 20


def content_hash(uri: str) -> str | None:
    """BLAKE2b-128 of a local file's bytes (hex); ``etag:<ETag>`` for an object-store object (its bytes are not
    read twice); None for other remote URIs.

    Raises MediaError for anything but a regular file (a FIFO or device is never read) or an existing object.
    """
    if is_object_store(uri):
        return f"etag:{remote_object(uri)[2]}"
    path = local_path(uri)
    if path is None:
        return None
    regular_file(uri, path)
    digest = hashlib.blake2b(digest_size=16)
    # non-blocking open: a FIFO swapped in after the check cannot make open() wait; fstat then refuses it
    with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise MediaError(uri, "not a regular file")
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

"""Which inputs may be opened: local files always, URL schemes only when enabled in config."""

from __future__ import annotations

import os
import stat
from urllib.parse import urlparse

from avm.media.errors import MediaError
from avm.storage import is_object_store, object_info, presigned_url, scheme_of

# ffmpeg protocols needed by each URL scheme we may allow; "file" and "pipe" are always allowed. Objects on S3
# are read through presigned HTTP(S) URLs.
_PROTOCOLS_FOR_SCHEME = {
    "http": ("http", "tcp"),
    "https": ("https", "tls", "tcp", "http"),
    "s3": ("http", "https", "tls", "tcp"),
}

_SPECIAL_FILES = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"))


uri_scheme = scheme_of


def local_path(uri: str) -> str | None:
    """The local filesystem path of ``uri``, or None when it is a remote URL."""
    if uri_scheme(uri) != "file":
        return None
    return urlparse(uri).path if uri.startswith("file://") else uri


def regular_file(uri: str, path: str) -> os.stat_result:
    """The status of the local file ``path`` (symlinks followed); MediaError unless it is a regular file."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise MediaError(uri, "file does not exist") from None
    except OSError as exc:
        raise MediaError(uri, f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(status.st_mode):
        raise MediaError(uri, "is a directory, not a media file")
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _SPECIAL_FILES if test(status.st_mode)), "an unknown kind of file")
        raise MediaError(uri, f"not a regular file ({kind})")
    return status


def check_input(uri: str, allowed_schemes: tuple[str, ...] = ()) -> tuple[str, str]:
    """Validate ``uri`` against the whitelist; return (what to pass to ffmpeg, its protocol whitelist).

    Local files must be existing, non-empty regular files (devices, FIFOs and sockets are refused before anything
    reads them). Any other scheme must be listed in ``allowed_schemes``.
    """
    scheme = uri_scheme(uri)
    if scheme == "file":
        path = local_path(uri)
        assert path is not None
        if regular_file(uri, path).st_size == 0:
            raise MediaError(uri, "file is empty (0 bytes)")
        return path, "file,pipe"
    if scheme not in allowed_schemes:
        raise MediaError(uri, f"URL scheme {scheme!r} is not enabled (media.allowed_schemes={list(allowed_schemes)})")
    protocols = ",".join(("file", "pipe", *_PROTOCOLS_FOR_SCHEME.get(scheme, (scheme,))))
    if is_object_store(uri):
        remote_object(uri)
        return presigned_url(uri), protocols
    return uri, protocols


def remote_object(uri: str) -> tuple[int, float, str]:
    """(size, modification time, ETag) of an object-store input; MediaError when it is missing, unreadable or
    empty."""
    try:
        info = object_info(uri)
    except FileNotFoundError:
        raise MediaError(uri, "object does not exist") from None
    except OSError as exc:
        raise MediaError(uri, f"cannot be read ({exc})") from None
    if info.size == 0:
        raise MediaError(uri, "object is empty (0 bytes)")
    return info.size, info.mtime, info.etag

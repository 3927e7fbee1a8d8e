"""Which inputs may be opened: local files always, URL schemes only when enabled in config."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from avm.media.errors import MediaError

# ffmpeg protocols needed by each URL scheme we may allow; "file" and "pipe" are always allowed.
_PROTOCOLS_FOR_SCHEME = {
    "http": ("http", "tcp"),
    "https": ("https", "tls", "tcp", "http"),
}


def uri_scheme(uri: str) -> str:
    """Return the URL scheme of ``uri`` ("file" for plain paths and ``file://`` URIs)."""
    parsed = urlparse(uri)
    if len(parsed.scheme) <= 1:  # "" or a Windows drive letter
        return "file"
    return parsed.scheme.lower()


def local_path(uri: str) -> str | None:
    """The local filesystem path of ``uri``, or None when it is a remote URL."""
    if uri_scheme(uri) != "file":
        return None
    return urlparse(uri).path if uri.startswith("file://") else uri


def check_input(uri: str, allowed_schemes: tuple[str, ...] = ()) -> tuple[str, str]:
    """Validate ``uri`` against the whitelist; return (what to pass to ffmpeg, its protocol whitelist).

    Local files must exist and be non-empty. Any other scheme must be listed in ``allowed_schemes``.
    """
    scheme = uri_scheme(uri)
    if scheme == "file":
        path = local_path(uri)
        assert path is not None
        if not os.path.exists(path):
            raise MediaError(uri, "file does not exist")
        if os.path.isdir(path):
            raise MediaError(uri, "is a directory, not a media file")
        if os.path.getsize(path) == 0:
            raise MediaError(uri, "file is empty (0 bytes)")
        return path, "file,pipe"
    if scheme not in allowed_schemes:
        raise MediaError(uri, f"URL scheme {scheme!r} is not enabled (media.allowed_schemes={list(allowed_schemes)})")
    protocols = _PROTOCOLS_FOR_SCHEME.get(scheme, (scheme,))
    return uri, ",".join(("file", "pipe", *protocols))

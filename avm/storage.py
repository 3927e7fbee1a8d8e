"""Files wherever they live: local paths and object stores (``s3://``) behind one set of small functions.

Object-store access is configured the standard AWS way, from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` for an S3-compatible server, an instance
profile on a cluster); pyarrow, boto3 and LanceDB all read it, so one setting serves manifests, media, the store
and results. Generic reads and writes go through :mod:`pyarrow.fs`; boto3 only signs URLs and reads ETags.
"""

from __future__ import annotations

import functools
import os
import posixpath
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs

OBJECT_STORE_SCHEMES = ("s3",)
PRESIGNED_SECONDS = 6 * 3600  # long enough for one file's decode on a busy worker


def scheme_of(uri: str) -> str:
    """The URL scheme of ``uri`` ("file" for plain paths, ``file://`` URIs and Windows drive letters)."""
    scheme = urlparse(str(uri)).scheme
    return "file" if len(scheme) <= 1 else scheme.lower()


def is_object_store(uri: str) -> bool:
    """Whether ``uri`` names an object in an object store (``s3://bucket/key``)."""
    return scheme_of(uri) in OBJECT_STORE_SCHEMES


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``uri`` and the path of ``uri`` on it (local paths made absolute)."""
    if is_object_store(uri):
        return pafs.FileSystem.from_uri(uri)
    path = urlparse(uri).path if str(uri).startswith("file://") else str(uri)
    return pafs.LocalFileSystem(), os.path.abspath(path)


def join(base: str, *parts: str) -> str:
    """``parts`` below the folder ``base`` (a local path or an object-store URI)."""
    if is_object_store(base):
        return posixpath.join(base.rstrip("/"), *parts)
    return os.path.join(base, *parts)


def parent(uri: str) -> str:
    """The folder holding ``uri``."""
    return posixpath.dirname(uri.rstrip("/")) if is_object_store(uri) else os.path.dirname(os.path.abspath(uri))


def file_type(uri: str) -> pafs.FileType:
    """What ``uri`` is: a file, a folder (a key prefix on an object store) or nothing."""
    fs, path = filesystem(uri)
    return fs.get_file_info(path).type


def list_files(folder: str) -> list[tuple[str, int, datetime | None]]:
    """Every file below ``folder`` (recursively) as (its URI or path, size, modification time), sorted; none when
    the folder does not exist."""
    fs, path = filesystem(folder)
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    prefix = f"{scheme_of(folder)}://" if is_object_store(folder) else ""
    return sorted((prefix + i.path, i.size or 0, i.mtime) for i in infos if i.type == pafs.FileType.File)


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def write_bytes(uri: str, data: bytes) -> None:
    """Write ``uri`` whole (one PUT on an object store, so readers see the old object or the new one)."""
    fs, path = filesystem(uri)
    if not is_object_store(uri):
        fs.create_dir(os.path.dirname(path), recursive=True)
    with fs.open_output_stream(path) as stream:
        stream.write(data)


@dataclass(frozen=True)
class ObjectInfo:
    """What an object store says of one object without reading it."""

    size: int
    mtime: float  # seconds since the epoch
    etag: str  # changes whenever the bytes do; equal for the same bytes uploaded the same way


def _s3_client() -> Any:
    return _client_for(os.environ.get("AWS_ENDPOINT_URL"))


@functools.cache
def _client_for(endpoint: str | None) -> Any:
    import boto3  # only object-store inputs need it

    return boto3.client("s3", endpoint_url=endpoint)


def _bucket_key(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def object_info(uri: str) -> ObjectInfo:
    """Size, modification time and ETag of an object-store object (one HEAD request); raises FileNotFoundError
    when it does not exist and OSError when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _bucket_key(uri)
    try:
        head = _s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            raise FileNotFoundError(uri) from None
        raise OSError(f"{code or 'error'}: {exc}") from None
    except BotoCoreError as exc:
        raise OSError(str(exc)) from None
    return ObjectInfo(int(head["ContentLength"]), head["LastModified"].timestamp(), head["ETag"].strip('"'))


def presigned_url(uri: str, seconds: int = PRESIGNED_SECONDS) -> str:
    """An HTTP(S) URL that reads the object ``uri`` for ``seconds`` with no credentials (ffmpeg streams it with
    range requests, so a long file is never copied whole to local disk)."""
    bucket, key = _bucket_key(uri)
    return _s3_client().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                               ExpiresIn=seconds)

"""Job inputs: a manifest (CSV, Parquet or JSONL with ``uri`` and optional ``video_id``), a directory or a glob;
a manifest or a folder may also be on an object store (``s3://bucket/dir/``).

Video ids: a manifest's ``video_id`` column when given, else the file name without its extension (for files of one
manifest that share it: the path relative to the manifest's folder, or the URL path, without the extension); for a
directory, the path below it without the extension (``a/x`` for ``dir/a/x.mp4``; a flat directory gives the file
names); for a glob, the path below its leading folder without wildcards; for a single file, its name.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.fs as pafs
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from avm.errors import UserError
from avm.media.source import local_path, uri_scheme
from avm.storage import file_type, filesystem, is_object_store, join, list_files, parent

log = logging.getLogger(__name__)

MEDIA_EXTENSIONS = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".ts", ".flv", ".wmv", ".mpg",
                              ".mpeg", ".3gp", ".ogv", ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus"})
MANIFEST_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}


@dataclass(frozen=True)
class ManifestEntry:
    """One input file and the id it gets in the catalog."""

    uri: str
    video_id: str


def default_video_id(uri: str) -> str:
    """The file name without its extension."""
    return Path(uri.rstrip("/").split("?")[0]).stem


def relative_id(path: str, root: str) -> str:
    """``path`` relative to the folder ``root``, without its extension, with ``/`` separators."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).with_suffix("").as_posix()


def _read_table(path: str) -> pa.Table:
    """The manifest at ``path`` as a table; a file its format cannot parse is a :class:`UserError` naming it."""
    kind = MANIFEST_EXTENSIONS[Path(path).suffix.lower()]
    fs, where = filesystem(path)
    try:
        if kind == "parquet":
            return pq.read_table(where, filesystem=fs)
        with fs.open_input_stream(where) as stream:
            if kind == "csv":
                return pa_csv.read_csv(stream, convert_options=pa_csv.ConvertOptions(
                    column_types={"uri": pa.string(), "video_id": pa.string()}))
            return pa_json.read_json(stream)
    except pa.ArrowInvalid as exc:
        raise UserError(f"{path}: not a readable {kind} manifest ({str(exc).splitlines()[0]})") from None


def _long_id(uri: str, base: str) -> str:
    """A manifest entry's id when its file name is shared: the path below ``base``, else the URL path."""
    if is_object_store(uri) and is_object_store(base) and uri.startswith(base.rstrip("/") + "/"):
        return Path(uri[len(base.rstrip("/")) + 1:]).with_suffix("").as_posix()
    path = local_path(uri)
    if path is not None:
        return relative_id(path, base)
    url_path = urlparse(uri).path.strip("/")
    return Path(url_path).with_suffix("").as_posix() if url_path else default_video_id(uri)


def read_manifest_file(path: str) -> list[ManifestEntry]:
    """Entries of a CSV/Parquet/JSONL manifest (a local file or an object-store URI); relative paths are resolved
    against its folder."""
    table = _read_table(path)
    if "uri" not in table.column_names:
        raise UserError(f"{path}: manifest has no 'uri' column (columns: {table.column_names})")
    uris = table["uri"].to_pylist()
    ids = table["video_id"].to_pylist() if "video_id" in table.column_names else [None] * len(uris)
    base = parent(path)
    rows = []
    for row, (uri, video_id) in enumerate(zip(uris, ids, strict=True), start=2):
        if not uri:
            raise UserError(f"{path}: row {row} has an empty uri")
        if uri_scheme(uri) == "file" and not os.path.isabs(uri) and not uri.startswith("file://"):
            uri = join(base, uri)
        rows.append((str(uri), None if video_id is None or str(video_id) == "" else str(video_id)))
    files_per_id: dict[str, set[str]] = defaultdict(set)
    for uri, video_id in rows:
        files_per_id[video_id or default_video_id(uri)].add(uri)

    def id_of(uri: str, given: str | None) -> str:
        name = default_video_id(uri)
        return given or (name if len(files_per_id[name]) == 1 else _long_id(uri, base))

    return [ManifestEntry(uri, id_of(uri, video_id)) for uri, video_id in rows]


def _media_files(root: str) -> list[str]:
    return sorted(str(p) for p in Path(root).rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS)


def _glob_root(pattern: str) -> str:
    """The leading folders of a glob pattern, up to the first part with a wildcard."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if re.search(r"[*?[]", part)), len(parts))
    return str(Path(*parts[:fixed])) if fixed else "."


def _unique(entries: list[ManifestEntry]) -> list[ManifestEntry]:
    """``entries`` without repeats; a later file given an id already taken is skipped with a warning."""
    kept: dict[str, ManifestEntry] = {}
    for entry in entries:
        first = kept.setdefault(entry.video_id, entry)
        if first.uri != entry.uri:
            log.warning("video_id %r is given to two files: %s and %s; the second is skipped", entry.video_id,
                        first.uri, entry.uri)
    return list(kept.values())


def read_inputs(spec: str) -> list[ManifestEntry]:
    """Resolve a job input: a manifest file, a directory (media files below it) or a glob pattern.

    Raises :class:`UserError` when ``spec`` names nothing or holds no file.
    """
    if is_object_store(spec):
        return _unique(_object_store_inputs(spec))
    if os.path.isfile(spec) and Path(spec).suffix.lower() in MANIFEST_EXTENSIONS:
        entries = read_manifest_file(spec)
        if not entries:
            raise UserError(f"manifest {spec} lists no files")
    elif os.path.isdir(spec):
        entries = [ManifestEntry(os.path.abspath(p), relative_id(p, spec)) for p in _media_files(spec)]
        if not entries:
            raise UserError(f"no media files found in {spec} (looked for {', '.join(sorted(MEDIA_EXTENSIONS))})")
    elif os.path.isfile(spec):
        entries = [ManifestEntry(os.path.abspath(spec), default_video_id(spec))]
    else:
        root = _glob_root(spec)
        paths = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
        if not paths:
            raise UserError(f"input {spec!r} is no manifest, directory or file, and matches no file as a glob")
        entries = [ManifestEntry(os.path.abspath(p), relative_id(p, root)) for p in paths]
    return _unique(entries)


def _object_store_inputs(spec: str) -> list[ManifestEntry]:
    """The entries of a manifest or a folder (key prefix) on an object store."""
    try:
        kind = file_type(spec)
    except OSError as exc:
        raise UserError(f"input {spec}: cannot be read ({exc})") from None
    if kind == pafs.FileType.File:
        if Path(spec).suffix.lower() not in MANIFEST_EXTENSIONS:
            return [ManifestEntry(spec, default_video_id(spec))]
        entries = read_manifest_file(spec)
        if not entries:
            raise UserError(f"manifest {spec} lists no files")
        return entries
    root = spec.rstrip("/")
    files = [uri for uri, _, _ in list_files(root) if Path(uri).suffix.lower() in MEDIA_EXTENSIONS]
    if not files:
        raise UserError(f"no media files found in {spec} (looked for {', '.join(sorted(MEDIA_EXTENSIONS))}; "
                        "globs work for local paths only)")
    return [ManifestEntry(uri, Path(uri[len(root) + 1:]).with_suffix("").as_posix()) for uri in files]

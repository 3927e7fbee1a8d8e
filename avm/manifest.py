"""Job inputs: a manifest (CSV, Parquet or JSONL with ``uri`` and optional ``video_id``), a directory or a glob."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from avm.media.source import uri_scheme

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


def _read_table(path: str) -> pa.Table:
    kind = MANIFEST_EXTENSIONS[Path(path).suffix.lower()]
    if kind == "csv":
        return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
            column_types={"uri": pa.string(), "video_id": pa.string()}))
    if kind == "parquet":
        return pq.read_table(path)
    return pa_json.read_json(path)


def read_manifest_file(path: str) -> list[ManifestEntry]:
    """Entries of a CSV/Parquet/JSONL manifest; relative local paths are resolved against its folder."""
    table = _read_table(path)
    if "uri" not in table.column_names:
        raise ValueError(f"{path}: manifest has no 'uri' column (columns: {table.column_names})")
    uris = table["uri"].to_pylist()
    ids = table["video_id"].to_pylist() if "video_id" in table.column_names else [None] * len(uris)
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    for row, (uri, video_id) in enumerate(zip(uris, ids, strict=True), start=2):
        if not uri:
            raise ValueError(f"{path}: row {row} has an empty uri")
        if uri_scheme(uri) == "file" and not os.path.isabs(uri) and not uri.startswith("file://"):
            uri = os.path.join(base, uri)
        entries.append(ManifestEntry(uri=str(uri), video_id=str(video_id) if video_id else default_video_id(uri)))
    return entries


def read_inputs(spec: str) -> list[ManifestEntry]:
    """Resolve a job input: a manifest file, a directory (media files below it) or a glob pattern."""
    if os.path.isfile(spec) and Path(spec).suffix.lower() in MANIFEST_EXTENSIONS:
        entries = read_manifest_file(spec)
    elif os.path.isdir(spec):
        paths = sorted(str(p) for p in Path(spec).rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS)
        entries = [ManifestEntry(os.path.abspath(p), default_video_id(p)) for p in paths]
    elif os.path.isfile(spec):
        entries = [ManifestEntry(os.path.abspath(spec), default_video_id(spec))]
    else:
        paths = sorted(glob.glob(spec, recursive=True))
        if not paths:
            raise FileNotFoundError(f"input {spec!r} is no manifest, directory or file, and matches nothing as a glob")
        entries = [ManifestEntry(os.path.abspath(p), default_video_id(p)) for p in paths if os.path.isfile(p)]
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.video_id in seen and seen[entry.video_id] != entry.uri:
            raise ValueError(f"video_id {entry.video_id!r} is given to two files: {seen[entry.video_id]} and {entry.uri}")
        seen[entry.video_id] = entry.uri
    return list({e.video_id: e for e in entries}.values())

"""What both peers share: the peer interface, fingerprinting a file list, and a timed run over a benchmark.

A peer has a ``name``, a ``modality``, ``fingerprint(uri)`` (one file → its prints, ``None`` when the file
lacks the peer's modality) and ``build_index(ref_prints)`` → an index whose ``match(query_id, prints)`` gives
one query's segment pairs against every reference (never itself). :func:`run` runs one over a benchmark.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from avm.manifest import ManifestEntry
from avm.media import MediaError, probe
from avm.types import Segment


class PeerIndex(Protocol):
    """The references' prints, ready to match queries against."""

    def match(self, query_id: str, prints: Any) -> list[Segment]: ...


class Peer(Protocol):
    """A baseline fingerprinter + matcher."""

    name: str
    modality: str

    def fingerprint(self, uri: str) -> Any | None: ...

    def build_index(self, ref_prints: dict[str, Any]) -> PeerIndex: ...


@dataclass
class PeerRun:
    """One peer's results on one benchmark, with its timings."""

    matches: pa.Table  # MATCHES_SCHEMA
    media_seconds: float  # refs + queries, as probed
    fingerprint_seconds: float  # wall time, decode included
    match_seconds: float
    skipped: list[str]  # video ids without the peer's modality (or unreadable)

    @property
    def realtime(self) -> float:
        """Media seconds processed per wall second (fingerprinting and matching together)."""
        wall = self.fingerprint_seconds + self.match_seconds
        return self.media_seconds / wall if wall > 0 else float("inf")


def _duration(uri: str) -> float:
    try:
        return probe(uri).duration
    except MediaError:
        return 0.0


def _fingerprint(peer: Peer, entry: ManifestEntry) -> Any | None:
    try:
        return peer.fingerprint(entry.uri)
    except (MediaError, RuntimeError) as exc:  # one bad file does not stop the benchmark
        print(f"{peer.name}: {entry.video_id} skipped: {exc}", file=sys.stderr)
        return None


def fingerprint_all(peer: Peer, entries: Sequence[ManifestEntry], workers: int) -> dict[str, Any]:
    """``video_id`` → prints of every entry (``None`` for a file without the peer's modality, or unreadable)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        prints = list(pool.map(lambda e: _fingerprint(peer, e), entries))
    return {e.video_id: p for e, p in zip(entries, prints, strict=True)}


def run(peer: Peer, refs: Sequence[ManifestEntry], queries: Sequence[ManifestEntry], workers: int = 2,
        run_id: str | None = None) -> PeerRun:
    """Fingerprint references and queries, index the references, match every query (timed)."""
    media = sum(_duration(e.uri) for e in (*refs, *queries))
    started = time.perf_counter()
    ref_prints = fingerprint_all(peer, refs, workers)
    query_prints = fingerprint_all(peer, queries, workers)
    fingerprinted = time.perf_counter()
    index = peer.build_index({k: v for k, v in ref_prints.items() if v is not None})
    segments = [seg for query_id, prints in query_prints.items() if prints is not None
                for seg in index.match(query_id, prints)]
    done = time.perf_counter()
    skipped = [k for k, v in (*ref_prints.items(), *query_prints.items()) if v is None]
    return PeerRun(Segment.to_table(segments, run_id or peer.name), media, fingerprinted - started,
                   done - fingerprinted, skipped)

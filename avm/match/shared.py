"""Content that recurs across catalog videos: a series' intro and outro, a channel's logo, a title card.

Such content is in many references at once, so a query holding it is a copy of none of them in particular, and
the similarities it gives between *different* catalog videos are not the chance likeness that calibration must
measure. It is found by matching the catalog against itself: intervals of each video, ``query_every`` seconds
apart, are searched among the other videos, and a hit is shared content when the similarity stays up along the
hit's line (speed 1) on the next two intervals a window or more away from it, on either side (so content
of a window, a step and a window is enough: 2.5 s of sound, 5 s of picture; at a video's start or end, where
one neighbour counts, a little less). Chance likeness of unrelated
content does not last: along a chance line, intervals a window away are no more alike than the best match an
interval finds anywhere in the catalog. "Up" is a fixed level, ``shared_similarity``, that only the same content
reaches: a level taken from the catalog's own similarities would move with the very content it must find (an
intro that fills a quarter of every video moves any quantile). Each confirmed line is followed along both videos
while its similarity stays at that level, and the stretch it covers is shared in both.

The spans found are left out of calibration (its impostor samples and null queries), and hits landing in
content that ``shared_min_videos`` or more catalog videos hold are dropped when a query is matched, so such
content never makes a segment pair (content in exactly two may be a copy inside the catalog and is matched).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from avm.index import FingerprintStore, knn, read_shared_lines, write_shared_lines
from avm.match.matcher import ReferenceLookup
from avm.match.options import CalibrationOptions
from avm.match.refine import line_track, stretches
from avm.schema import SHARED_LINES_SCHEMA
from avm.types import Fingerprints, Hits

log = logging.getLogger(__name__)

SAVE_EVERY = 200  # catalog videos searched between two writes of their shared lines
NEIGHBOURS = 2  # intervals on each side of a hit, past its window, that must stay alike along its line
Spans = list[tuple[float, float]]
PartnerSpans = list[tuple[float, float, str]]  # (start, end, another video holding the same content)
DepthSpans = list[tuple[float, float, int]]  # (start, end, how many other videos hold that content)


@dataclass(frozen=True)
class SharedContent:
    """Per modality and catalog video, the spans whose content recurs in other videos, each with how many."""

    spans: dict[str, dict[str, DepthSpans]] = field(default_factory=dict)
    level: dict[str, float] = field(default_factory=dict)  # the similarity that counted as "still alike"

    def held_by(self, modality: str, video_id: str, min_videos: int = 2) -> Spans:
        """The merged spans of ``video_id`` whose content at least ``min_videos`` catalog videos hold (itself
        included)."""
        return merge_spans([(a, b) for a, b, n in self.spans.get(modality, {}).get(video_id, [])
                            if n + 1 >= min_videos])

    def covers(self, modality: str, video_ids: np.ndarray, t_start: np.ndarray, t_end: np.ndarray,
               min_videos: int = 2) -> np.ndarray:
        """Whether each interval's middle lies in content that at least ``min_videos`` catalog videos hold."""
        by_video = self.spans.get(modality, {})
        inside = np.zeros(len(video_ids), dtype=bool)
        if not by_video or len(video_ids) == 0:
            return inside
        middle = (np.asarray(t_start, np.float64) + np.asarray(t_end, np.float64)) / 2
        ids = np.asarray(video_ids, dtype=object)
        for video_id in set(ids.tolist()) & by_video.keys():
            held = self.held_by(modality, video_id, min_videos)
            if not held:
                continue
            rows = np.flatnonzero(ids == video_id)
            spans = np.asarray(held, np.float64)
            slot = np.searchsorted(spans[:, 0], middle[rows], side="right") - 1
            inside[rows] = (slot >= 0) & (middle[rows] <= spans[np.maximum(slot, 0), 1])
        return inside

    def drop_hits(self, modality: str, hits: Hits, min_videos: int = 2) -> Hits:
        """``hits`` without those landing in content that at least ``min_videos`` catalog videos hold."""
        if not self.spans.get(modality) or len(hits) == 0:
            return hits
        return hits.select(~self.covers(modality, hits.video_id, hits.t_start, hits.t_end, min_videos))

    def seconds(self, modality: str, min_videos: int = 2) -> float:
        return float(sum(end - start for video_id in self.spans.get(modality, {})
                         for start, end in self.held_by(modality, video_id, min_videos)))

    def videos(self, modality: str) -> int:
        return len(self.spans.get(modality, {}))

    @classmethod
    def from_dict(cls, data: dict) -> SharedContent:
        return cls({m: {v: [(float(a), float(b), int(n)) for a, b, n in spans] for v, spans in by_video.items()}
                    for m, by_video in data.get("spans", {}).items()}, dict(data.get("level", {})))


def partner_depth(spans: PartnerSpans) -> DepthSpans:
    """The stretches covered by ``spans``, each with how many different partners cover it (piecewise)."""
    events: list[tuple[float, int]] = []
    for partner in sorted({o for _, _, o in spans}):
        for start, end in merge_spans([(a, b) for a, b, o in spans if o == partner]):
            events += [(start, 1), (end, -1)]
    events.sort()
    found: DepthSpans = []
    depth = 0
    for (t, change), (t_next, _) in zip(events, events[1:], strict=False):
        depth += change
        if depth > 0 and t_next > t:
            if found and found[-1][1] == t and found[-1][2] == depth:
                found[-1] = (found[-1][0], t_next, depth)
            else:
                found.append((t, t_next, depth))
    return found


def merge_spans(spans: Spans, gap: float = 0.0) -> Spans:
    """``spans`` sorted, with those overlapping or closer than ``gap`` joined."""
    merged: Spans = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((float(start), float(end)))
    return merged


def _grid(prints: Fingerprints) -> tuple[float, float]:
    """(step, window) of a video's intervals, in seconds."""
    step = float(np.median(np.diff(prints.t_start))) if len(prints) > 1 else 1.0
    return step, float(np.median(prints.t_end - prints.t_start))


def _neighbour_support(track: np.ndarray, row: int, skip: int) -> float:
    """The better of the two sides of ``row``: the lower track value of the first ``NEIGHBOURS`` intervals past
    ``skip`` intervals on that side (fewer where the query or the reference ends; a side with none does not count).
    """
    best = -1.0
    for direction in (1, -1):
        side = row + direction * (skip + np.arange(NEIGHBOURS))
        side = side[(side >= 0) & (side < len(track))]
        valid = track[side] > -1  # the line stays within the reference
        side = side if valid.all() else side[:np.argmin(valid)]
        if len(side):
            best = max(best, float(track[side].min()))
    return best


def _lines_of(video_id: str, prints: Fingerprints, hits: Hits, level: float,
              references: ReferenceLookup) -> list[tuple[str, tuple[float, float], float]]:
    """The shared lines found from one video's hits: (other video, the span in this video, the offset of the
    same content in the other video)."""
    step, window = _grid(prints)
    skip = max(1, int(np.ceil(window / step - 1e-9)))
    found: list[tuple[str, tuple[float, float], float]] = []
    covered: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for i in np.argsort(-hits.similarity, kind="stable"):
        other, row = str(hits.video_id[i]), int(hits.query_index[i])
        t = float(prints.t_start[row])
        offset = float(hits.t_start[i]) - t
        key = (other, int(round(offset / step)))
        if any(a <= t <= b for a, b in covered.get(key, [])):
            continue  # a line already followed through this interval
        reference = references(prints.modality, other)
        if reference is None:
            continue
        track = line_track(prints, reference, 1.0, offset)
        if _neighbour_support(track, row, skip) < level:
            continue
        stretch = next((s for s in stretches(track >= level, prints.t_start, window) if s[0] <= row <= s[1]), None)
        if stretch is None:
            continue
        start, end = float(prints.t_start[stretch[0]]), float(prints.t_end[stretch[1]])
        covered.setdefault(key, []).append((start, end))
        found.append((other, (start, end), offset))
    return found


def lines_key(store: FingerprintStore, modality: str, opts: CalibrationOptions, k: int) -> str:
    """The key of the shared lines found with these settings (model version, search and the shared options)."""
    settings = {"modality": modality, "version": store.snapshot().versions.get(modality), "k": k,
                "query_every": opts.shared_query_every, "similarity": opts.shared_similarity,
                "index": [store.opts.index_type, store.opts.nprobes, store.opts.refine_factor]}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]


def _search_lines(store: FingerprintStore, video_id: str, prints: Fingerprints, opts: CalibrationOptions, k: int,
                  references: ReferenceLookup) -> list[tuple[str, tuple[float, float], float]]:
    """The shared lines one catalog video has with the others (its intervals ``shared_query_every`` apart
    searched among them)."""
    step, _ = _grid(prints)
    rows = np.arange(0, len(prints), max(1, int(round(opts.shared_query_every / step))))
    hits = knn(store, prints.modality, prints.vectors[rows], k, exclude_video_id=video_id)
    hits = hits.select(hits.similarity >= opts.shared_similarity)
    hits = Hits(rows[hits.query_index].astype(np.int32), hits.video_id, hits.t_start, hits.t_end, hits.similarity)
    return _lines_of(video_id, prints, hits, opts.shared_similarity, references)


def _searched_lines(store: FingerprintStore, modality: str, opts: CalibrationOptions, k: int,
                    references: ReferenceLookup) -> pa.Table:
    """The shared lines of every searchable catalog video: stored ones where the video's fingerprints have not
    changed since, the others searched now and stored (every ``SAVE_EVERY`` videos, so an interrupted calibration
    keeps its progress)."""
    snapshot, key = store.snapshot(), lines_key(store, modality, opts, k)
    stored = read_shared_lines(store, key)
    done = set(zip(stored["video_id"].to_pylist(), stored["batch_id"].to_pylist(), strict=True))
    batches = {v: snapshot.batch_of(modality, v) for v in snapshot.durations}
    todo = [v for v, b in batches.items() if b is not None and (v, b) not in done]
    log.info("shared content (%s): %d catalog videos searched before, %d to search", modality,
             len(batches) - len(todo), len(todo))
    found, pending, started, last_log = [stored], [], time.perf_counter(), 0.0
    for i, video_id in enumerate(todo, start=1):
        prints = references(modality, video_id)
        lines = [] if prints is None or len(prints) < 2 else _search_lines(store, video_id, prints, opts, k,
                                                                           references)
        pending += [{"key": key, "video_id": video_id, "batch_id": batches[video_id], "other_id": other,
                     "other_batch_id": batches.get(other), "start": start, "end": end, "offset": offset}
                    for other, (start, end), offset in lines] or [
                    {"key": key, "video_id": video_id, "batch_id": batches[video_id]}]
        if i % SAVE_EVERY == 0 or i == len(todo):
            rows = pa.Table.from_pylist(pending, schema=SHARED_LINES_SCHEMA)
            write_shared_lines(store, key, rows)
            found.append(rows)
            pending = []
        elapsed = time.perf_counter() - started
        if elapsed - last_log >= 30 or i == len(todo):
            last_log = elapsed
            log.info("shared content (%s): %d/%d videos searched, %s elapsed, ETA %.0f s", modality, i, len(todo),
                     f"{elapsed:.0f} s", elapsed / i * (len(todo) - i))
    return pa.concat_tables(found)


def find_shared_content(store: FingerprintStore, modality: str, opts: CalibrationOptions, k: int,
                        references: ReferenceLookup) -> dict[str, DepthSpans]:
    """Every searchable catalog video's spans of ``modality`` whose content recurs in other ones (see the module
    docstring), with how many other videos hold each stretch. Only lines between the current fingerprints of
    two searchable videos count."""
    snapshot = store.snapshot()
    current = {v: snapshot.batch_of(modality, v) for v in snapshot.durations}
    spans: dict[str, PartnerSpans] = {}
    seen = set()
    for row in _searched_lines(store, modality, opts, k, references).to_pylist():
        video, other = row["video_id"], row["other_id"]
        if other is None or current.get(video) != row["batch_id"] or current.get(other) != row["other_batch_id"]:
            continue
        line = (video, other, row["start"], row["end"], row["offset"])
        if line in seen:  # two calibrations that ran at once may both have stored it
            continue
        seen.add(line)
        start, end, offset = row["start"], row["end"], row["offset"]
        spans.setdefault(video, []).append((start, end, other))
        spans.setdefault(other, []).append((start + offset, end + offset, video))
    return {v: partner_depth(s) for v, s in sorted(spans.items())}


def shared_content(store: FingerprintStore, opts: dict[str, CalibrationOptions], k: int,
                   references: ReferenceLookup) -> SharedContent:
    """The catalog's shared content in every modality whose options ask for it."""
    spans, levels = {}, {}
    for m, o in opts.items():
        if o.shared_content:
            spans[m], levels[m] = find_shared_content(store, m, o, k, references), o.shared_similarity
    result = SharedContent(spans, levels)
    for m in spans:
        log.info("shared content (%s): %.1f s in %d catalog videos (alike at ≥ %.3f)", m, result.seconds(m),
                 result.videos(m), levels[m])
    return result

"""Build a benchmark: plan it from a seed, render the catalog and the queries with ffmpeg, write the tables.

Output folder: ``refs/*.mp4`` (the catalog: references and distractors), ``queries/*.mp4``, ``refs.csv`` and
``queries.csv`` (``uri,video_id`` manifests), ``ground_truth.csv`` (hackathon format), ``edits.csv`` (the
ground truth plus the edits and the evidence of every segment), ``catalog_meta.csv`` and ``queries_meta.csv``
(``video_id,kind,shared``: ``shared`` names the shared catalog content a video carries, e.g. ``intro+logo``, or
is empty), and ``build.json``, written last: a later call with the same seed, preset, media and
builder version finds it and skips the work.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from avm.bench.compose import (
    AV,
    Canvas,
    Encoding,
    Stream,
    concat,
    cut,
    encode,
    excerpt_audio,
    materialise,
    normalise,
    scene_av,
    still_video,
)
from avm.bench.edits import HARD_EDITS, EditContext, apply_edits, edited_segment, encoding_of, overlay_logo
from avm.bench.plan import (
    INTRO,
    LOGO,
    OUTRO,
    BenchPlan,
    Borrow,
    CatalogVideo,
    ChannelLogo,
    QueryPlan,
    SharedClip,
    plan_benchmark,
)
from avm.bench.preset import Preset
from avm.schema import HACKATHON_GT_COLUMNS

BUILDER_VERSION = "bench-1"
MARKER = "build.json"
EDITS_COLUMNS = ("ID_piracy", "segment", "ID_license", "segment.1", "edits", "evidence")
MANIFEST_COLUMNS = ("uri", "video_id")
META_COLUMNS = ("video_id", "kind", "shared")

REF_ENCODING = Encoding(crf=23, preset="veryfast", audio_bitrate="128k")
QUERY_ENCODING = Encoding(crf=26, preset="veryfast", audio_bitrate="96k")


# --- render ------------------------------------------------------------------------------------------------

def with_logo(video: Stream, logo: ChannelLogo | None, canvas: Canvas) -> Stream:
    """``video`` with the channel ``logo`` over all of it (unchanged when None)."""
    if logo is None:
        return video
    return overlay_logo(video, still_video(logo.visual, logo.at), logo.corner, logo.opacity, logo.size, canvas)


def catalog_av(video: CatalogVideo, canvas: Canvas) -> AV:
    """The streams of one catalog video: its intro, body and outro joined, under its logo."""
    picture, sound = concat([scene_av(scene, canvas) for scene in video.scenes])
    return with_logo(picture, video.logo, canvas), sound


def render_catalog_video(video: CatalogVideo, path: Path, canvas: Canvas) -> Path:
    """Encode one catalog video."""
    return encode(*catalog_av(video, canvas), path, canvas, REF_ENCODING, video.duration)


def edit_context(borrow: Borrow, ref_path: Path, canvas: Canvas) -> EditContext:
    """What the edits of ``borrow`` may use: the copied audio, its cover and its voice."""
    cover, voice = borrow.cover, borrow.voice
    first = cover.shots[0] if cover is not None else None
    return EditContext(
        canvas, borrow.query_duration,
        signal=lambda: cut(ref_path, borrow.ref_start, borrow.duration)[1],
        cover=(lambda: scene_av(cover, canvas)) if cover is not None else None,
        cover_still=(lambda: still_video(first.visual, first.start)) if first is not None else None,
        voice=(lambda: excerpt_audio(voice, canvas)) if voice is not None else None)


def borrowed_piece(borrow: Borrow, refs_dir: Path, work_path: Path, canvas: Canvas) -> AV:
    """The edited, normalised streams of one borrowed segment."""
    ref_path = refs_dir / f"{borrow.ref_id}.mp4"
    return edited_segment(ref_path, borrow.ref_start, borrow.duration, borrow.edits, canvas, work_path,
                          edit_context(borrow, ref_path, canvas))


def shared_piece(clip: SharedClip, work_path: Path, canvas: Canvas) -> AV:
    """The streams of shared content spliced into a query, with its light edits (a lossy one via ``work_path``)."""
    video, audio = scene_av(clip.scene, canvas)
    if not clip.edits:
        return video, audio
    ctx = EditContext(canvas, clip.length, signal=lambda: scene_av(clip.scene, canvas)[1])
    video, audio = apply_edits(video, audio, clip.edits, ctx)
    encoding = encoding_of(clip.edits)
    if encoding is not None:
        video, audio = materialise(video, audio, work_path, canvas, encoding, clip.length)
    return normalise(video, audio, canvas, clip.length)


def render_query(query: QueryPlan, refs_dir: Path, path: Path, work_dir: Path, canvas: Canvas) -> Path:
    """Encode one query: its filler scenes, edited borrowed segments and shared clips joined in order, under
    its logo if it has one."""
    pieces = []
    for i, piece in enumerate(query.pieces):
        work_path = work_dir / f"{query.query_id}_{i}.mkv"
        if isinstance(piece, Borrow):
            pieces.append(borrowed_piece(piece, refs_dir, work_path, canvas))
        elif isinstance(piece, SharedClip):
            pieces.append(shared_piece(piece, work_path, canvas))
        else:
            pieces.append(scene_av(piece, canvas))
    video, audio = concat(pieces)
    return encode(with_logo(video, query.logo, canvas), audio, path, canvas, QUERY_ENCODING, query.duration)


# --- tables ------------------------------------------------------------------------------------------------

def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def summary(plan: BenchPlan) -> dict[str, Any]:
    """Counts and hours of a plan (what ``build.json`` and the job report)."""
    segments = plan.segments()
    hard = sum(any(e.name in HARD_EDITS for e in b.edits) for _, _, b in segments)
    return {
        "n_catalog": len(plan.catalog), "n_refs": len(plan.refs), "n_distractors": len(plan.distractors),
        "n_queries": len(plan.queries), "n_negative": sum(not q.borrows() for q in plan.queries),
        "n_borrowed": len(segments), "n_hard_segments": hard,
        "catalog_hours": round(sum(v.duration for v in plan.catalog) / 3600, 3),
        "query_hours": round(sum(q.duration for q in plan.queries) / 3600, 3),
        "borrowed_hours": round(sum(b.duration for _, _, b in segments) / 3600, 3),
        "evidence": {e: sum(b.evidence == e for _, _, b in segments) for e in ("both", "audio", "visual")},
        "edit_counts": plan.edit_counts(),
        "n_negative_shared": sum(bool(q.shared) and not q.borrows() for q in plan.queries),
        "catalog_shared": {part: sum(part in v.shared.split("+") for v in plan.catalog)
                           for part in (INTRO, OUTRO, LOGO)},
    }


def _write_tables(plan: BenchPlan, out_dir: Path, ref_paths: Sequence[Path],
                  query_paths: Sequence[Path]) -> dict[str, Path]:
    return {
        "ground_truth": write_csv(out_dir / "ground_truth.csv", HACKATHON_GT_COLUMNS, plan.ground_truth()),
        "edits": write_csv(out_dir / "edits.csv", EDITS_COLUMNS, plan.edit_rows()),
        "refs_manifest": write_csv(out_dir / "refs.csv", MANIFEST_COLUMNS, [(str(p), p.stem) for p in ref_paths]),
        "queries_manifest": write_csv(out_dir / "queries.csv", MANIFEST_COLUMNS,
                                      [(str(p), p.stem) for p in query_paths]),
        "catalog_meta": write_csv(out_dir / "catalog_meta.csv", META_COLUMNS,
                                  [(v.video_id, v.kind, v.shared) for v in plan.catalog]),
        "queries_meta": write_csv(out_dir / "queries_meta.csv", META_COLUMNS,
                                  [(q.query_id, q.kind, q.shared) for q in plan.queries]),
    }


# --- build -------------------------------------------------------------------------------------------------

def _result(out_dir: Path, marker: dict[str, Any], skipped: bool) -> dict[str, Any]:
    paths = {key: out_dir / rel for key, rel in marker["paths"].items()}
    return {**paths, **marker["counts"], "out_dir": out_dir, "seed": marker["seed"], "preset": marker["preset"],
            "version": marker["version"], "seconds": marker["seconds"], "skipped": skipped}


def _complete(out_dir: Path, seed: int, digest: str) -> dict[str, Any] | None:
    try:
        marker = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if (marker.get("version"), marker.get("seed"), marker.get("plan")) != (BUILDER_VERSION, seed, digest):
        return None
    if not all((out_dir / rel).is_file() for rel in marker.get("files", [])):
        return None
    return marker


def render_plan(plan: BenchPlan, out_dir: Path, jobs: int = 2) -> tuple[list[Path], list[Path]]:
    """Encode the catalog, then the queries (``jobs`` files at a time); returns their paths."""
    refs_dir, queries_dir, work_dir = out_dir / "refs", out_dir / "queries", out_dir / ".work"
    for folder in (refs_dir, queries_dir, work_dir):
        folder.mkdir(parents=True, exist_ok=True)
    canvas = plan.canvas
    # Longest first, so that the pool does not end waiting on one long file.
    by_length = sorted(plan.catalog, key=lambda v: -v.duration)
    queries = sorted(plan.queries, key=lambda q: -q.duration)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda v: render_catalog_video(v, refs_dir / f"{v.video_id}.mp4", canvas), by_length))
        list(pool.map(lambda q: render_query(q, refs_dir, queries_dir / f"{q.query_id}.mp4", work_dir, canvas),
                      queries))
    shutil.rmtree(work_dir, ignore_errors=True)
    return ([refs_dir / f"{v.video_id}.mp4" for v in plan.catalog],
            [queries_dir / f"{q.query_id}.mp4" for q in plan.queries])


def build_benchmark(media_dir: Path | Sequence[Path], out_dir: Path, preset: Preset | None = None, seed: int = 0,
                    jobs: int = 2) -> dict[str, Any]:
    """Build the benchmark ``preset`` from one or more media folders into ``out_dir`` (skipped if built alike).

    Returns the output paths (``refs_dir``, ``queries_dir``, ``ground_truth``, ``edits``, ``refs_manifest``,
    ``queries_manifest``, ``catalog_meta``, ``queries_meta``), the counts and hours of :func:`summary`,
    ``seed``, ``preset``, ``version``, ``seconds`` (build time), ``out_dir`` and ``skipped``.
    """
    out_dir = Path(out_dir).resolve()
    preset = preset or Preset()
    plan = plan_benchmark(media_dir, preset, seed)
    digest = plan.digest()
    if (marker := _complete(out_dir, seed, digest)) is not None:
        return _result(out_dir, marker, skipped=True)

    started = time.monotonic()
    (out_dir / MARKER).unlink(missing_ok=True)
    ref_paths, query_paths = render_plan(plan, out_dir, jobs)
    tables = _write_tables(plan, out_dir, ref_paths, query_paths)

    def rel(path: Path) -> str:
        return str(path.relative_to(out_dir))

    marker = {
        "version": BUILDER_VERSION, "preset": preset.name, "seed": seed, "plan": digest,
        "seconds": round(time.monotonic() - started, 2),
        "paths": {"refs_dir": "refs", "queries_dir": "queries", **{k: rel(p) for k, p in tables.items()}},
        "counts": summary(plan),
        "files": [rel(p) for p in (*ref_paths, *query_paths, *tables.values())],
    }
    (out_dir / MARKER).write_text(json.dumps(marker, indent=2))
    return _result(out_dir, marker, skipped=False)


__all__ = ["BUILDER_VERSION", "EDITS_COLUMNS", "MANIFEST_COLUMNS", "META_COLUMNS", "Preset", "build_benchmark",
           "plan_benchmark", "render_plan", "summary"]

"""The demo benchmark builder: files, durations, ground truth, real audio overlap, determinism."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import av
import ffmpeg
import numpy as np
import pytest

from avm.bench import BenchPlan, Borrow, build_demo, plan_demo, sample_edits
from avm.bench.compose import Scene
from avm.bench.generate import EDITS_COLUMNS, MANIFEST_COLUMNS
from avm.media.tools import ffmpeg_exe
from avm.schema import HACKATHON_GT_COLUMNS

DEMO_MEDIA = Path(__file__).resolve().parents[1] / "data" / "demo"
SEED = 0
RATE = 16000


@pytest.fixture(scope="module")
def plan() -> BenchPlan:
    return plan_demo(DEMO_MEDIA, SEED)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_demo(DEMO_MEDIA, tmp_path_factory.mktemp("demo"), seed=SEED)


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def _duration(path: Path) -> float:
    with av.open(str(path)) as container:
        return container.duration / av.time_base


def _pcm(path: Path, start: float, seconds: float) -> np.ndarray:
    """``seconds`` of mono 16 kHz audio of ``path`` from ``start``, as float32."""
    out, _ = (ffmpeg.input(str(path), ss=start, t=seconds)
              .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=RATE)
              .run(cmd=ffmpeg_exe(), capture_stdout=True, quiet=True))
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768.0


def _ncc(needle: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``needle`` at every offset inside ``haystack``."""
    needle = needle - needle.mean()
    numerator = np.correlate(haystack, needle, mode="valid")
    energy = np.concatenate([[0.0], np.cumsum(haystack.astype(np.float64) ** 2)])
    window = energy[len(needle):] - energy[:-len(needle)]
    return numerator / (np.linalg.norm(needle) * np.sqrt(np.maximum(window, 1e-12)))


def _peak(query: Path, q_at: float, ref: Path, r_at: float, seconds: float = 4.0,
          margin: float = 0.5) -> tuple[float, float]:
    """(peak correlation, its lag in s) of the query audio at ``q_at`` against the ref around ``r_at``."""
    needle = _pcm(query, q_at, seconds)
    haystack = _pcm(ref, max(0.0, r_at - margin), seconds + 2 * margin)
    scores = _ncc(needle, haystack)
    best = int(np.argmax(scores))
    return float(scores[best]), best / RATE - min(margin, r_at)


def _thumb(path: Path, at: float) -> np.ndarray:
    """The frame of ``path`` at ``at`` s as a 64x36 grey thumbnail (edge rows dropped), zero-mean, unit-norm."""
    out, _ = (ffmpeg.input(str(path), ss=at).filter("scale", 64, 36)
              .output("pipe:", vframes=1, format="rawvideo", pix_fmt="gray")
              .run(cmd=ffmpeg_exe(), capture_stdout=True, quiet=True))
    frame = np.frombuffer(out, np.uint8).astype(np.float32).reshape(36, 64)[4:-4]
    frame -= frame.mean()
    return frame / max(float(np.linalg.norm(frame)), 1e-6)


def _span(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return int(start), int(end)


def test_files_and_durations_follow_the_plan(built: dict, plan: BenchPlan) -> None:
    assert not built["skipped"]
    assert (built["n_refs"], built["n_queries"], built["n_negative"]) == (5, 5, 1)
    assert built["n_borrowed"] == len(plan.ground_truth()) >= 4
    for folder, items in ((built["refs_dir"], plan.refs), (built["queries_dir"], plan.queries)):
        files = sorted(Path(folder).glob("*.mp4"))
        assert [f.stem for f in files] == [getattr(i, "video_id", None) or i.query_id for i in items]
        for path, item in zip(files, items, strict=True):
            assert abs(_duration(path) - item.duration) < 0.5, path.name
            with av.open(str(path)) as container:
                video, audio = container.streams.video[0], container.streams.audio[0]
                assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
                assert (video.width, video.height, audio.sample_rate) == (640, 360, 44100)
    assert all(40 <= r.duration <= 60 for r in plan.refs)
    assert all(16 <= q.duration <= 80 for q in plan.queries)


def test_ground_truth_and_logs_match_the_plan(built: dict, plan: BenchPlan) -> None:
    header, rows = _read_csv(built["ground_truth"])
    assert tuple(header) == HACKATHON_GT_COLUMNS
    assert [tuple(r) for r in rows] == plan.ground_truth()
    for query_seg, ref_seg in ((r[1], r[3]) for r in rows):
        (qs, qe), (rs, re) = _span(query_seg), _span(ref_seg)
        assert 10 <= qe - qs <= 25 and qe - qs == re - rs

    header, edit_rows = _read_csv(built["edits"])
    assert tuple(header) == EDITS_COLUMNS
    assert [tuple(r[:4]) for r in edit_rows] == plan.ground_truth()
    assert all(r[4] and r[5] == "both" for r in edit_rows)

    for key, folder in (("refs_manifest", "refs_dir"), ("queries_manifest", "queries_dir")):
        header, entries = _read_csv(built[key])
        assert tuple(header) == MANIFEST_COLUMNS
        assert len(entries) == 5
        for uri, video_id in entries:
            assert Path(uri).is_absolute() and Path(uri).is_file()
            assert Path(uri).parent == Path(built[folder]) and Path(uri).stem == video_id


def test_sources_are_never_shared_with_references(plan: BenchPlan) -> None:
    ref_visuals = [v for r in plan.refs for v in r.scene.visuals]
    ref_sounds = [c.path for r in plan.refs for c in r.scene.audio.sound.clips]
    assert len(set(ref_visuals)) == len(ref_visuals) == len(plan.refs)
    assert len(set(ref_sounds)) == len(ref_sounds)
    fillers = [p for q in plan.queries for p in q.pieces if isinstance(p, Scene)]
    assert fillers
    assert not {v for p in fillers for v in p.visuals} & set(ref_visuals)
    assert not {c.path for p in fillers for c in p.audio.sound.clips} & set(ref_sounds)


def test_negative_query_borrows_nothing(built: dict, plan: BenchPlan) -> None:
    negatives = [q.query_id for q in plan.queries if not q.borrows()]
    assert len(negatives) == 1
    _, rows = _read_csv(built["ground_truth"])
    assert not {f"{q}.mp4" for q in negatives} & {r[0] for r in rows}
    assert (Path(built["queries_dir"]) / f"{negatives[0]}.mp4").is_file()


def test_borrowed_audio_matches_the_reference_at_the_stated_offset(built: dict, plan: BenchPlan) -> None:
    refs_dir, queries_dir = Path(built["refs_dir"]), Path(built["queries_dir"])
    ref_ids = [r.video_id for r in plan.refs]
    borrows = [(q.query_id, start, b) for q in plan.queries for start, b in q.borrows()]
    for query_id, q_start, borrow in borrows:
        middle = (borrow.duration - 4) // 2
        query = queries_dir / f"{query_id}.mp4"
        score, lag = _peak(query, q_start + middle, refs_dir / f"{borrow.ref_id}.mp4", borrow.ref_start + middle)
        assert score > 0.8 and abs(lag) < 0.05, (query_id, borrow, score, lag)
        # Control: the same query audio does not match another reference at that offset.
        other = ref_ids[(ref_ids.index(borrow.ref_id) + 1) % len(ref_ids)]
        other_start = min(borrow.ref_start + middle, next(r.duration for r in plan.refs if r.video_id == other) - 5)
        miss, _ = _peak(query, q_start + middle, refs_dir / f"{other}.mp4", other_start)
        assert miss < 0.3, (query_id, other, miss)


def _mild_geometry(borrow: Borrow) -> bool:
    """No crop of more than 15 % (a heavier one moves a whole thumbnail too far to compare pixel by pixel)."""
    return all(e.args.get("frac", 0) <= 0.15 for e in borrow.edits if e.name == "crop")


def test_borrowed_picture_is_closest_to_the_stated_reference(built: dict, plan: BenchPlan) -> None:
    refs_dir, queries_dir = Path(built["refs_dir"]), Path(built["queries_dir"])
    checked = [(q, start, b) for q, start, b in plan.segments() if _mild_geometry(b)]
    assert len(checked) >= 3
    for query, q_start, borrow in checked:
        middle = borrow.duration / 2 + 0.02  # mid-frame, away from frame boundaries
        frame = _thumb(queries_dir / f"{query.query_id}.mp4", q_start + middle)
        scores = {r.video_id: float((frame * _thumb(refs_dir / f"{r.video_id}.mp4",
                                                  min(borrow.ref_start + middle, r.duration - 1))).sum())
                  for r in plan.refs}
        best = scores.pop(borrow.ref_id)
        assert best > max(scores.values()) + 0.1, (query.query_id, borrow, best, scores)


def test_plan_is_deterministic(plan: BenchPlan) -> None:
    again = plan_demo(DEMO_MEDIA, SEED)
    assert again.ground_truth() == plan.ground_truth() and again.digest() == plan.digest()
    assert plan_demo(DEMO_MEDIA, SEED + 1).digest() != plan.digest()
    assert sample_edits(random.Random(7)) == sample_edits(random.Random(7))
    assert all(isinstance(p, Borrow) or isinstance(p, Scene) for q in plan.queries for p in q.pieces)


def test_second_build_is_skipped(built: dict) -> None:
    again = build_demo(DEMO_MEDIA, built["out_dir"], seed=SEED)
    assert again["skipped"] and again["ground_truth"] == built["ground_truth"]

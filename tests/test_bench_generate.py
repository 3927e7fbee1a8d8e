"""The benchmark generator, preset `small` built from the bundled demo media: files, tables, rules, signals."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import ffmpeg
import numpy as np
import pytest
from omegaconf import OmegaConf

from avm.bench import EDITS, BenchPlan, Borrow, Preset, build_benchmark, plan_benchmark
from avm.bench.compose import Scene
from avm.bench.edits import AUDIO
from avm.bench.generate import EDITS_COLUMNS, MANIFEST_COLUMNS, META_COLUMNS
from avm.config import CONFIG_DIR, to_options
from avm.media.tools import ffmpeg_exe
from avm.schema import HACKATHON_GT_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DEMO_MEDIA = REPO / "data" / "demo"
SEED = 0
RATE = 16000


@pytest.fixture(scope="module")
def preset() -> Preset:
    return to_options(OmegaConf.load(REPO / "conf" / "bench" / "small.yaml"), Preset)


@pytest.fixture(scope="module")
def plan(preset: Preset) -> BenchPlan:
    return plan_benchmark(DEMO_MEDIA, preset, SEED)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, preset: Preset) -> dict:
    return build_benchmark(DEMO_MEDIA, tmp_path_factory.mktemp("small"), preset, seed=SEED)


@pytest.fixture(scope="module")
def durations(built: dict) -> dict[str, float]:
    """Seconds of every built file, by file name, read with PyAV."""
    found = {}
    for folder in (built["refs_dir"], built["queries_dir"]):
        for path in Path(folder).glob("*.mp4"):
            with av.open(str(path)) as container:
                found[path.name] = container.duration / av.time_base
    return found


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def _span(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return int(start), int(end)


def _pcm(path: Path, start: float, seconds: float) -> np.ndarray:
    out, _ = (ffmpeg.input(str(path), ss=start, t=seconds)
              .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=RATE)
              .run(cmd=ffmpeg_exe(), capture_stdout=True, quiet=True))
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768.0


def _peak(needle: np.ndarray, haystack: np.ndarray) -> tuple[float, int]:
    """(best normalised cross-correlation of ``needle`` inside ``haystack``, its offset in samples)."""
    needle = needle - needle.mean()
    numerator = np.correlate(haystack, needle, mode="valid")
    energy = np.concatenate([[0.0], np.cumsum(haystack.astype(np.float64) ** 2)])
    window = energy[len(needle):] - energy[:-len(needle)]
    scores = numerator / (np.linalg.norm(needle) * np.sqrt(np.maximum(window, 1e-12)))
    best = int(np.argmax(scores))
    return float(scores[best]), best


def _audio_kinds(borrow: Borrow) -> set[str]:
    return {e.name for e in borrow.edits if AUDIO in EDITS[e.name].streams}


def test_files_and_durations_follow_the_plan(built: dict, plan: BenchPlan, durations: dict[str, float]) -> None:
    assert not built["skipped"]
    assert (built["n_refs"], built["n_distractors"], built["n_queries"], built["n_negative"]) == (3, 1, 7, 1)
    assert built["n_borrowed"] == len(plan.ground_truth()) >= 6
    items = [(f"{v.video_id}.mp4", v.duration) for v in plan.catalog] + \
            [(f"{q.query_id}.mp4", q.duration) for q in plan.queries]
    assert sorted(durations) == sorted(name for name, _ in items)
    for name, seconds in items:
        assert abs(durations[name] - seconds) < 0.5, name
    some = Path(built["queries_dir"]) / f"{plan.queries[0].query_id}.mp4"
    with av.open(str(some)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert (video.width, video.height, audio.sample_rate) == (640, 360, 44100)


def test_tables_agree(built: dict, plan: BenchPlan) -> None:
    header, gt = _rows(built["ground_truth"])
    assert tuple(header) == HACKATHON_GT_COLUMNS
    assert [tuple(r) for r in gt] == plan.ground_truth()
    header, edits = _rows(built["edits"])
    assert tuple(header) == EDITS_COLUMNS
    assert [r[:4] for r in edits] == gt
    for row in edits:
        labels = row[4].split(";")
        assert 1 <= len(labels) <= 3 and all(label.split("(")[0] in EDITS for label in labels)
        assert row[5] in ("audio", "visual", "both")
        assert row[5] == ("visual" if "new_audio(" in row[4] else "audio" if "new_video(" in row[4] else "both")

    for key, folder, items in (("refs_manifest", "refs_dir", plan.catalog), ("queries_manifest", "queries_dir",
                                                                             plan.queries)):
        header, entries = _rows(built[key])
        assert tuple(header) == MANIFEST_COLUMNS and len(entries) == len(items)
        for uri, video_id in entries:
            assert Path(uri).is_absolute() and Path(uri).is_file()
            assert Path(uri).parent == Path(built[folder]) and Path(uri).stem == video_id
    header, catalog = _rows(built["catalog_meta"])
    assert tuple(header) == META_COLUMNS
    assert sorted(kind for _, kind in catalog) == ["distractor", "reference", "reference", "reference"]
    header, queries = _rows(built["queries_meta"])
    assert tuple(header) == META_COLUMNS and {kind for _, kind in queries} == {"pirated", "negative"}


def test_segments_lie_within_their_files(built: dict, durations: dict[str, float]) -> None:
    _, rows = _rows(built["edits"])
    for query, q_seg, ref, r_seg, edits, _ in rows:
        (qs, qe), (rs, re) = _span(q_seg), _span(r_seg)
        assert 0 <= qs < qe <= durations[query] + 0.05 and 0 <= rs < re <= durations[ref] + 0.05
        assert 5 <= re - rs <= 14
        if "speed(" not in edits:
            assert qe - qs == re - rs
    by_pair: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for query, _, ref, r_seg, _, _ in rows:
        by_pair.setdefault((query, ref), []).append(_span(r_seg))
    for spans in by_pair.values():  # one query never copies the same stretch of a reference twice
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans


def test_speed_changes_both_lengths_exactly(plan: BenchPlan) -> None:
    sped = [(b, e.args["factor"]) for _, _, b in plan.segments() for e in b.edits if e.name == "speed"]
    assert sped
    for borrow, factor in sped:
        assert borrow.query_duration != borrow.duration
        assert abs(borrow.duration / borrow.query_duration - factor) < 1e-5
        assert 0.03 - 1e-6 <= abs(factor - 1) <= 0.10 + 1e-6


def test_negatives_and_distractors_are_never_in_the_ground_truth(built: dict, plan: BenchPlan) -> None:
    _, gt = _rows(built["ground_truth"])
    _, queries = _rows(built["queries_meta"])
    _, catalog = _rows(built["catalog_meta"])
    negatives = {f"{q}.mp4" for q, kind in queries if kind == "negative"}
    distractors = {f"{v}.mp4" for v, kind in catalog if kind == "distractor"}
    assert negatives and distractors
    assert not negatives & {r[0] for r in gt}
    assert not distractors & {r[2] for r in gt}
    assert {f"{q}.mp4" for q, kind in queries if kind == "pirated"} == {r[0] for r in gt}
    assert {f"{v}.mp4" for v, kind in catalog if kind == "reference"} == {r[2] for r in gt}


def test_every_edit_kind_occurs(plan: BenchPlan) -> None:
    counts = plan.edit_counts()
    assert set(counts) == set(EDITS) and min(counts.values()) >= 1, counts


def test_catalog_videos_share_no_source_and_fillers_use_none(plan: BenchPlan) -> None:
    def paths(scene: Scene) -> set[Path]:
        return {c.path for s in scene.shots for c in s.visual.clips} | {c.path for c in scene.audio.sound.clips}

    owned = [paths(v.scene) for v in plan.catalog]
    catalog = set().union(*owned)
    assert sum(map(len, owned)) == len(catalog)  # no file in two catalog videos
    others = [p for q in plan.queries for p in q.pieces if isinstance(p, Scene)]
    others += [b.cover for _, _, b in plan.segments() if b.cover is not None]
    voices = {c.path for _, _, b in plan.segments() if b.voice is not None for c in b.voice.sound.clips}
    assert others and not catalog & (set().union(*map(paths, others)) | voices)


def test_plan_is_deterministic(plan: BenchPlan, preset: Preset, built: dict) -> None:
    again = plan_benchmark(DEMO_MEDIA, preset, SEED)
    assert again.edit_rows() == plan.edit_rows() and again.digest() == plan.digest()
    assert plan_benchmark(DEMO_MEDIA, preset, SEED + 1).edit_rows() != plan.edit_rows()
    assert build_benchmark(DEMO_MEDIA, built["out_dir"], preset, seed=SEED)["skipped"]


def test_copied_audio_is_at_the_stated_offset(built: dict, plan: BenchPlan) -> None:
    """Segments whose audio is untouched (or only louder/quieter) match their reference sample-exactly."""
    checked = 0
    for query, q_start, borrow in plan.segments():
        if _audio_kinds(borrow) - {"volume"}:
            continue
        middle = (borrow.duration - 4) // 2
        needle = _pcm(Path(built["queries_dir"]) / f"{query.query_id}.mp4", q_start + middle, 4)
        margin = min(0.5, borrow.ref_start + middle)
        haystack = _pcm(Path(built["refs_dir"]) / f"{borrow.ref_id}.mp4", borrow.ref_start + middle - margin, 5)
        score, offset = _peak(needle, haystack)
        assert score > 0.8 and abs(offset / RATE - margin) < 0.05, (query.query_id, borrow.ref_id, score, offset)
        checked += 1
    assert checked >= 1


def test_sped_up_audio_follows_the_factor(built: dict, plan: BenchPlan) -> None:
    """A speed edit resamples the copied audio: undoing the factor brings back the reference."""
    checked = 0
    for query, q_start, borrow in plan.segments():
        factor = next((e.args["factor"] for e in borrow.edits if e.name == "speed"), None)
        if factor is None or _audio_kinds(borrow) - {"speed", "volume"}:
            continue
        at = (borrow.query_duration - 3) / 2
        needle = _pcm(Path(built["queries_dir"]) / f"{query.query_id}.mp4", q_start + at, 3)
        ref = _pcm(Path(built["refs_dir"]) / f"{borrow.ref_id}.mp4", borrow.ref_start + at * factor - 0.5,
                   3 * factor + 1)
        # Resample the reference by the factor onto the query's time axis.
        stretched = np.interp(np.arange(0, len(ref) / factor), np.arange(len(ref)) / factor, ref).astype(np.float32)
        score, offset = _peak(needle, stretched)
        unstretched, _ = _peak(needle, ref)
        assert score > 0.7 and abs(offset / RATE - 0.5 / factor) < 0.05, (query.query_id, score, offset)
        assert unstretched < score - 0.2
        checked += 1
    assert checked >= 1


def test_replaced_soundtrack_does_not_match(built: dict, plan: BenchPlan) -> None:
    """new_audio: the copied picture comes with another sound, which does not match the reference."""
    checked = 0
    for query, q_start, borrow in plan.segments():
        if not any(e.name == "new_audio" for e in borrow.edits):
            continue
        middle = (borrow.duration - 4) // 2
        needle = _pcm(Path(built["queries_dir"]) / f"{query.query_id}.mp4", q_start + middle, 4)
        haystack = _pcm(Path(built["refs_dir"]) / f"{borrow.ref_id}.mp4", max(0, borrow.ref_start + middle - 0.5), 5)
        assert _peak(needle, haystack)[0] < 0.3
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name", ["small", "standard"])
def test_presets_compose_from_the_job_config(name: str) -> None:
    from hydra import compose, initialize_config_dir

    from avm.bench.config import BenchConfig
    from jobs.schemas import register_configs

    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        job = to_options(compose(config_name="make_benchmark", overrides=[f"bench={name}"]), BenchConfig)
    preset = job.bench
    assert preset.name == name and job.out_dir.endswith(f"bench/{name}")
    assert isinstance(preset.borrow_seconds, tuple)
    assert preset.borrow_seconds[0] >= 5 and preset.borrow_seconds[1] <= 120


def test_too_little_media_is_a_clear_error() -> None:
    from avm.bench import NotEnoughMedia

    with pytest.raises(NotEnoughMedia, match="fetch_extra_media"):
        plan_benchmark(DEMO_MEDIA, Preset(n_refs=30, n_distractors=14), SEED)

"""The benchmark generator, preset `small` built from the bundled demo media: files, tables, rules, signals; the
options of the `hard` preset (shared intro/outro/logo, edit ranges, combinations) on the same media."""

from __future__ import annotations

import csv
import dataclasses
import random
from pathlib import Path

import av
import ffmpeg
import numpy as np
import pytest
from omegaconf import OmegaConf

from avm.bench import EDITS, BenchPlan, Borrow, Preset, build_benchmark, make_edit, plan_benchmark
from avm.bench.compose import Scene
from avm.bench.deal import deal_kinds
from avm.bench.edits import AUDIO, ranges_of
from avm.bench.generate import EDITS_COLUMNS, MANIFEST_COLUMNS, META_COLUMNS
from avm.bench.plan import NEGATIVE, SharedClip
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
    assert tuple(header) == META_COLUMNS == ("video_id", "kind", "shared")
    assert sorted(kind for _, kind, _ in catalog) == ["distractor", "reference", "reference", "reference"]
    header, queries = _rows(built["queries_meta"])
    assert tuple(header) == META_COLUMNS and {kind for _, kind, _ in queries} == {"pirated", "negative"}
    assert {shared for *_, shared in catalog + queries} == {""}  # small has no shared content


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
    negatives = {f"{q}.mp4" for q, kind, _ in queries if kind == "negative"}
    distractors = {f"{v}.mp4" for v, kind, _ in catalog if kind == "distractor"}
    assert negatives and distractors
    assert not negatives & {r[0] for r in gt}
    assert not distractors & {r[2] for r in gt}
    assert {f"{q}.mp4" for q, kind, _ in queries if kind == "pirated"} == {r[0] for r in gt}
    assert {f"{v}.mp4" for v, kind, _ in catalog if kind == "reference"} == {r[2] for r in gt}


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


@pytest.mark.parametrize("name", ["small", "standard", "hard"])
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
    assert preset.borrow_seconds[0] >= 4 and preset.borrow_seconds[1] <= 120
    plan_ranges = {kind: ranges_of(kind, preset.edit_ranges.get(kind)) for kind in EDITS}  # valid names and spans
    if name == "hard":
        assert plan_ranges["speed"]["change"] == (0.12, 0.25) and plan_ranges["pip"]["size"] == (0.5, 0.63)
        assert preset.combos and preset.n_negative_shared > 0 and preset.intro_seconds > 0
        deal_kinds(random.Random(0), 40, list(EDITS), preset.edits_per_segment, 1, preset.hard_share, preset.combos)


def test_too_little_media_is_a_clear_error() -> None:
    from avm.bench import NotEnoughMedia

    with pytest.raises(NotEnoughMedia, match="fetch_extra_media"):
        plan_benchmark(DEMO_MEDIA, Preset(n_refs=30, n_distractors=14), SEED)


# --- the options of the hard preset: shared content, edit ranges, combinations ------------------------------

RANGES = {"speed": {"change": [0.12, 0.25]}, "pitch": {"semitones": [3.0, 4.0]}, "crop": {"frac": [0.15, 0.25]},
          "noise": {"snr_db": [-5.0, 5.0]}, "speech_over": {"snr_db": [-5.0, 5.0]}, "pip": {"size": [0.5, 0.63]},
          "volume": {"db": [6, 8]}}
COMBOS = [["new_audio", "crop", "hflip"], ["new_video", "pitch"], ["speed", "pitch"]]


@pytest.fixture(scope="module")
def shared_preset(preset: Preset) -> Preset:
    return dataclasses.replace(preset, name="shared", intro_seconds=5, intro_share=0.5, outro_seconds=3,
                               outro_share=0.5, logo_share=0.5, n_negative_shared=4, edit_ranges=RANGES,
                               combos=COMBOS, min_per_combo=1)


@pytest.fixture(scope="module")
def shared_plan(shared_preset: Preset) -> BenchPlan:
    return plan_benchmark(DEMO_MEDIA, shared_preset, SEED)


def _sources(scene: Scene) -> set[Path]:
    return {c.path for s in scene.shots for c in s.visual.clips} | {c.path for c in scene.audio.sound.clips}


def test_shared_intro_outro_and_logo_open_close_and_cover_their_share(shared_plan: BenchPlan) -> None:
    catalog = shared_plan.catalog
    with_intro = [v for v in catalog if v.intro is not None]
    with_outro = [v for v in catalog if v.outro is not None]
    with_logo = [v for v in catalog if v.logo is not None]
    assert len(with_intro) == len(with_outro) == len(with_logo) == 2  # half of the 4 catalog videos each
    assert len({v.intro for v in with_intro}) == len({v.outro for v in with_outro}) == 1  # one shared scene
    assert len({v.logo for v in with_logo}) == 1
    for v in catalog:
        extra = (5 if v.intro else 0) + (3 if v.outro else 0)
        assert v.duration == v.scene.duration + extra and 30 <= v.scene.duration <= 45
        assert v.scenes[0] == (v.intro or v.scene) and v.scenes[-1] == (v.outro or v.scene)
        assert v.reserved == tuple([(0, 5)] * bool(v.intro) + [(v.duration - 3, v.duration)] * bool(v.outro))
        assert v.shared == "+".join(p for p, on in (("intro", v.intro), ("outro", v.outro), ("logo", v.logo)) if on)
    # Intro, outro and logo are made of sources of their own: no other catalog video, filler or cover uses them.
    intro, outro, logo = with_intro[0].intro, with_outro[0].outro, with_logo[0].logo
    shared = _sources(intro) | _sources(outro) | {c.path for c in logo.visual.clips}
    bodies = set().union(*(_sources(v.scene) for v in catalog))
    others = [p for q in shared_plan.queries for p in q.pieces if isinstance(p, Scene)]
    others += [b.cover for _, _, b in shared_plan.segments() if b.cover is not None]
    voices = {c.path for _, _, b in shared_plan.segments() if b.voice is not None for c in b.voice.sound.clips}
    assert not shared & (bodies | set().union(*map(_sources, others)) | voices)


def test_no_borrow_overlaps_shared_content(shared_plan: BenchPlan) -> None:
    by_id = {v.video_id: v for v in shared_plan.catalog}
    segments = shared_plan.segments()
    assert any(by_id[b.ref_id].reserved for _, _, b in segments)
    for _, _, borrow in segments:
        start, end = borrow.ref_start, borrow.ref_start + borrow.duration
        assert end <= by_id[borrow.ref_id].duration
        assert all(end <= a or b <= start for a, b in by_id[borrow.ref_id].reserved), (borrow, by_id[borrow.ref_id])


def test_edit_parameters_lie_within_the_preset_ranges(shared_plan: BenchPlan) -> None:
    seen = set()
    for _, _, borrow in shared_plan.segments():
        for edit in borrow.edits:
            for param, (low, high) in RANGES.get(edit.name, {}).items():
                key = {"speed": "factor"}.get(edit.name, param)
                value = abs(edit.args[key] - 1) if edit.name == "speed" else edit.args[key]
                value = abs(value) if edit.name in ("pitch", "volume") else value
                assert low - 1e-6 <= value <= high + 1e-6, (edit, low, high)
                seen.add(edit.name)
    assert {"speed", "pitch", "crop"} <= seen
    # The defaults are each kind's own ranges; an override that names no parameter of the kind is an error.
    rng = random.Random(1)
    assert all(1 <= abs(make_edit("pitch", rng).args["semitones"]) <= 2 for _ in range(20))
    with pytest.raises(ValueError, match="no parameter range"):
        make_edit("pitch", rng, {"semitone": [3, 4]})
    with pytest.raises(ValueError, match="unknown edit kinds"):
        plan_benchmark(DEMO_MEDIA, Preset(edit_ranges={"sped": {"change": [0.1, 0.2]}}), SEED)


def test_combinations_are_dealt_whole(shared_plan: BenchPlan) -> None:
    hands = [sorted(e.name for e in b.edits) for _, _, b in shared_plan.segments()]
    for combo in COMBOS:
        assert sorted(combo) in hands, combo
    with pytest.raises(ValueError, match="cannot go on one segment"):
        deal_kinds(random.Random(0), 5, list(EDITS), combos=[["new_audio", "new_video"]])


def test_shared_negative_queries_carry_the_shared_content(shared_plan: BenchPlan) -> None:
    shared = [q for q in shared_plan.queries if q.shared]
    assert len(shared) == 4 and all(q.kind == NEGATIVE and not q.borrows() for q in shared)
    assert sum(q.kind == NEGATIVE and not q.shared for q in shared_plan.queries) == 1  # the plain negative
    assert [q.query_id for q in shared_plan.queries] == [f"q_{i:03d}" for i in range(1, 12)]
    intro = next(v.intro for v in shared_plan.catalog if v.intro is not None)
    clips = [p for q in shared for p in q.pieces if isinstance(p, SharedClip)]
    assert clips and all(c.scene == intro for c in clips if c.part == "intro")
    assert all(e.name in ("reencode", "volume") for c in clips for e in c.edits)
    assert any(q.logo is not None for q in shared)
    for q in shared:
        assert q.shared == "+".join(p for p in ("intro", "outro", "logo")
                                    if p in {c.part for c in q.pieces if isinstance(c, SharedClip)}
                                    | ({"logo"} if q.logo else set()))


def test_shared_content_is_off_by_default(plan: BenchPlan) -> None:
    assert not any(v.intro or v.outro or v.logo for v in plan.catalog)
    assert not any(q.shared for q in plan.queries)


# --- one real render with an intro, an outro and a logo -------------------------------------------------------

TINY = Preset(name="tiny", n_refs=2, n_distractors=1, n_pirated=1, n_negative=0, n_negative_shared=1,
              catalog_seconds=(8, 10), shot_seconds=(4, 6), visuals_per_video=(1, 1), borrow_seconds=(4, 6),
              borrows_per_query=(1, 1), refs_per_query=(1, 1), filler_seconds=(2, 3), negative_seconds=(6, 8),
              edits_per_segment=(1, 1), edit_kinds=("volume",), hard_share=0.0, intro_seconds=3, intro_share=1.0,
              outro_seconds=2, outro_share=0.5, logo_share=0.5, width=320, height=180)


def _frame(path: Path, at: float) -> np.ndarray:
    """The grey frame of ``path`` at ``at`` s (320x180), as float32."""
    out, _ = (ffmpeg.input(str(path), ss=at)
              .output("pipe:", vframes=1, format="rawvideo", pix_fmt="gray")
              .run(cmd=ffmpeg_exe(), capture_stdout=True, quiet=True))
    return np.frombuffer(out, np.uint8).astype(np.float32).reshape(180, 320)


def test_rendered_intro_outro_and_logo(tmp_path: Path) -> None:
    built = build_benchmark(DEMO_MEDIA, tmp_path / "tiny", TINY, seed=SEED)
    plan = plan_benchmark(DEMO_MEDIA, TINY, SEED)
    refs = Path(built["refs_dir"])
    for v in plan.catalog:  # every video: intro + body (+ outro)
        with av.open(str(refs / f"{v.video_id}.mp4")) as container:
            seconds = container.duration / av.time_base
        assert abs(seconds - (3 + v.scene.duration + (2 if v.outro else 0))) < 0.1, v.video_id
    a, b = next((a, b) for i, a in enumerate(plan.catalog) for b in plan.catalog[i + 1:]
                if (a.logo is None) == (b.logo is None))
    path_a, path_b = refs / f"{a.video_id}.mp4", refs / f"{b.video_id}.mp4"
    # The intro's first seconds are the same in both, sound and picture; their bodies differ.
    sound_a, sound_b = _pcm(path_a, 0.2, 2.5), _pcm(path_b, 0.2, 2.5)
    assert np.std(sound_a) > 0.01 and np.abs(sound_a - sound_b).max() < 0.02
    assert all(np.abs(_frame(path_a, t) - _frame(path_b, t)).mean() < 2.0 for t in (0.5, 1.5, 2.5))
    assert abs(np.corrcoef(_pcm(path_a, 4.0, 3.0), _pcm(path_b, 4.0, 3.0))[0, 1]) < 0.5
    # The channel logo: over the intro, a video with it differs from one without only in the logo's corner.
    logo = next(v.logo for v in plan.catalog if v.logo is not None)
    marked = next(v for v in plan.catalog if v.logo is not None)
    plain = next(v for v in plan.catalog if v.logo is None)
    diff = np.abs(_frame(refs / f"{marked.video_id}.mp4", 1.0) - _frame(refs / f"{plain.video_id}.mp4", 1.0))
    corners = {("t" if y == 0 else "b") + ("l" if x == 0 else "r"): diff[y:y + 60, x:x + 60].mean()
               for y in (0, 120) for x in (0, 260)}  # 60 px squares holding a 38 px logo 10 px from the edges
    corner = corners.pop(logo.corner)
    assert corner > 5.0 and corner > 4 * max(corners.values()), (logo.corner, corner, corners)
    # The shared negative query: marked in queries_meta, no ground truth.
    header, queries = _rows(built["queries_meta"])
    assert tuple(header) == META_COLUMNS
    (negative,) = [q for q in plan.queries if q.kind == NEGATIVE]
    assert [negative.query_id, "negative", negative.shared] in queries and negative.shared
    _, gt = _rows(built["ground_truth"])
    assert gt and not any(row[0] == f"{negative.query_id}.mp4" for row in gt)
    _, catalog = _rows(built["catalog_meta"])
    assert sorted(row[2] for row in catalog) == sorted(v.shared for v in plan.catalog)

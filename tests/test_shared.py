"""Content shared by catalog videos (a series' intro) is found, left out of calibration and never matched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import ffmpeg
import numpy as np
import pytest
import ray
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.index import FingerprintStore, IndexOptions
from avm.manifest import read_inputs
from avm.match import SharedContent, calibrate_catalog
from avm.match.calibration import Calibration
from avm.match.shared import merge_spans, partner_depth
from avm.media import ffmpeg_exe
from avm.pipeline import IngestConfig, ScanConfig
from avm.pipeline.runner import ingest, scan
from avm.types import Hits
from jobs.schemas import register_configs

from conftest import DEMO_MEDIA, make_clip

register_configs()
INTRO_SECONDS = 6.0
OUTRO_SECONDS = 2.0  # one video window: too short for the search along a line, seen by the impostor sampling


def test_partner_depth_counts_the_other_videos_holding_each_stretch():
    spans = [(0.0, 6.0, "b"), (0.0, 5.0, "c"), (1.0, 6.5, "b"), (10.0, 12.0, "b")]
    assert partner_depth(spans) == [(0.0, 5.0, 2), (5.0, 6.5, 1), (10.0, 12.0, 1)]
    assert merge_spans([(3.0, 4.0), (0.0, 2.0), (1.5, 2.5)]) == [(0.0, 2.5), (3.0, 4.0)]


def test_hits_on_content_held_by_enough_videos_are_dropped():
    shared = SharedContent({"audio": {"r1": [(0.0, 5.0, 2), (5.0, 6.5, 1)]}})
    hits = Hits(np.arange(4, dtype=np.int32), np.array(["r1", "r1", "r1", "r2"], dtype=object),
                np.array([1.0, 5.5, 8.0, 1.0], np.float32), np.array([2.0, 6.5, 9.0, 2.0], np.float32),
                np.full(4, 0.9, np.float32))
    assert shared.drop_hits("audio", hits, min_videos=3).t_start.tolist() == [5.5, 8.0, 1.0]
    assert shared.drop_hits("audio", hits, min_videos=2).t_start.tolist() == [8.0, 1.0]
    assert len(shared.drop_hits("visual", hits)) == 4  # nothing shared in that modality
    assert shared.seconds("audio", 3) == 5.0 and shared.seconds("audio") == 6.5


def _config(name: str, cls: type, out: Path, **overrides: str):
    items = [f"paths.output_dir={out}", *(f"{k}={v}" for k, v in overrides.items())]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return to_options(compose(config_name=name, overrides=items), cls)


def _join(parts: list[tuple[Path, float, float]], out: Path) -> Path:
    """``(file, start, seconds)`` pieces joined into one H.264/AAC mp4."""
    streams = []
    for path, start, seconds in parts:
        source = ffmpeg.input(str(path), ss=start, t=seconds)
        streams += [source["v:0"].filter("scale", 320, 180).filter("setsar", 1).filter("fps", 25)
                    .filter("setpts", "PTS-STARTPTS"),
                    source["a:0"].filter("aresample", 44100).filter("asetpts", "PTS-STARTPTS")]
    joined = ffmpeg.concat(*streams, v=1, a=1).node
    (ffmpeg.output(joined[0], joined[1], str(out), vcodec="libx264", preset="veryfast", crf=26, acodec="aac",
                   audio_bitrate="96k").overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    return out


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """Five catalog videos that open with the same 6 s intro (a still title card over speech) and end with the
    same 2 s outro, a negative query holding that intro between unrelated pieces, and a pirate copy of one
    video's own content."""
    work = tmp_path_factory.mktemp("series")
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    photos = sorted((DEMO_MEDIA / "photos").glob("*.jpg"))
    footage = sorted((DEMO_MEDIA / "footage").glob("*.*"))
    intro = make_clip(work / "intro.mp4", video=photos[-1], audio=next((DEMO_MEDIA / "speech").glob("*.opus")),
                      duration=INTRO_SECONDS)
    outro = make_clip(work / "outro.mp4", video=photos[2], audio=music[6], duration=OUTRO_SECONDS, audio_start=10.0)
    refs = work / "refs"
    refs.mkdir()
    for i in range(5):
        # each body its own piece of music (45-61 s long: bodies cut past a piece's end would share silence)
        body = make_clip(work / f"body{i}.mp4", video=footage[i], audio=music[i], duration=20, audio_start=5.0 * i)
        _join([(intro, 0.0, INTRO_SECONDS), (body, 0.0, 20.0), (outro, 0.0, OUTRO_SECONDS)], refs / f"ep{i}.mp4")
    filler = make_clip(work / "filler.mp4", video=photos[0], audio=music[5], duration=12, audio_start=30.0)
    queries = work / "queries"
    queries.mkdir()
    _join([(filler, 0.0, 5.0), (intro, 0.0, INTRO_SECONDS), (filler, 5.0, 6.0)], queries / "fan_video.mp4")
    _join([(filler, 0.0, 4.0), (refs / "ep2.mp4", 12.0, 12.0), (filler, 4.0, 6.0)], queries / "pirate.mp4")
    return refs, queries


@pytest.fixture(scope="module")
def scans(series, tmp_path_factory):
    """The catalog ingested once, and the queries scanned with and without shared-content detection."""
    refs, queries = series
    out = tmp_path_factory.mktemp("store")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        ingest(_config("ingest", IngestConfig, out, input=str(refs)), read_inputs(str(refs)))
        results = {"store": out / "lancedb"}
        for name, enabled in (("with", "true"), ("without", "false")):
            cfg = _config("scan", ScanConfig, out, queries=str(queries), output_dir=str(out / name),
                          **{"match.calibration.shared_content": enabled})
            results[name] = scan(cfg, read_inputs(str(queries)))
    finally:
        ray.shutdown()
    return results


def test_a_shared_intro_is_found_in_every_video_that_holds_it(scans):
    shared = scans["with"].calibration.shared
    for modality in ("audio", "visual"):
        for i in range(5):
            held = shared.held_by(modality, f"ep{i}", min_videos=3)
            assert held and held[0][0] <= 1.0 and INTRO_SECONDS - 1.5 <= held[0][1] <= INTRO_SECONDS + 2.5, \
                (modality, i, held)
            # the episodes' own content is not shared
            assert sum(b - a for a, b in held) <= INTRO_SECONDS + OUTRO_SECONDS + 3.0, (modality, i, held)


def test_shared_content_makes_no_pair_and_leaves_the_thresholds_room(scans):
    calibration: Calibration = scans["with"].calibration
    for modality, o in calibration.options.items():
        assert o.align.min_similarity < 0.99 and o.align.min_score < 0.99, (modality, o.align)
    assert not calibration.warnings()
    found = scans["with"].matches.to_pandas()
    assert "fan_video" not in set(found.query_id), found  # the intro alone is a copy of no episode
    copy = found[found.query_id == "pirate"]
    assert set(copy.ref_id) == {"ep2"}, found
    best = copy.sort_values("score").iloc[-1]
    assert abs(best.query_start - 4.0) <= 1.5 and abs(best.query_end - 16.0) <= 1.5
    assert abs((best.ref_start - best.query_start) - (12.0 - 4.0)) <= 1.0
    # the same catalog without shared-content detection: the intro either passes as a copy or lifts a threshold
    # out of reach (what this detection is for)
    unguarded = scans["without"]
    lost = set(unguarded.matches.to_pandas().query_id) & {"fan_video"} or unguarded.calibration.warnings()
    assert lost


# One calibration of the store in argv[1] with its own settings (so that none is cached yet), printed as JSON.
CALIBRATE = """
import logging, sys
logging.basicConfig(level=logging.INFO)
from avm.index import FingerprintStore, IndexOptions, SearchOptions
from avm.match import MatchConfig, calibrate_catalog
config = MatchConfig()
config.calibration.shared_query_every = 1.5
print(calibrate_catalog(FingerprintStore(IndexOptions(uri=sys.argv[1])), config.per_modality(["audio", "visual"]),
                        SearchOptions(k=10)).to_json())
"""


def _calibrate(store: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CALIBRATE, str(store)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True, **popen)


def _calibration_rows(store: Path) -> list[str]:
    return FingerprintStore(IndexOptions(uri=str(store))).db.open_table("calibration").to_arrow()["key"].to_pylist()


def test_a_calibration_killed_part_way_and_two_at_once_end_as_one_clean_row(scans):
    store = scans["store"]
    before = _calibration_rows(store)
    job = _calibrate(store, stderr=subprocess.PIPE)
    for line in job.stderr:  # killed once the audio's shared lines are stored, before the video's and the result
        if "shared content (audio): 5/5 videos searched" in line:
            break
    os.killpg(job.pid, signal.SIGKILL)
    assert job.wait(60) == -signal.SIGKILL, "the calibration ended before it could be interrupted"
    assert _calibration_rows(store) == before  # nothing half-written
    jobs = [_calibrate(store, stderr=subprocess.DEVNULL) for _ in range(2)]  # two scans of one catalog state calibrating at once
    outputs = [j.communicate(timeout=600)[0] for j in jobs]
    assert [j.returncode for j in jobs] == [0, 0]
    first, second = (Calibration.from_json(o.strip().splitlines()[-1]) for o in outputs)
    assert first == second and first.shared.spans
    after = _calibration_rows(store)
    assert len(after) == len(before) + 1 and len(set(after)) == len(after), (before, after)  # one row, new settings
    # the shared lines: each video's stored once per settings, whatever was killed or ran at once
    lines = FingerprintStore(IndexOptions(uri=str(store))).db.open_table("shared_lines").to_pandas()
    searched = lines.drop_duplicates(["key", "video_id", "batch_id"])
    assert len(searched) == 4 * 5  # two settings (the scans', this test's) × two modalities × five episodes
    assert not lines.duplicated(["key", "video_id", "batch_id", "other_id", "start", "end"]).any()


def test_a_grown_catalog_searches_only_its_new_videos_for_shared_content(series, scans, tmp_path, caplog):
    """The lines found per video are kept: after one more episode is ingested, calibration searches that one
    alone, and still finds the intro in all six."""
    refs, _ = series
    work = refs.parent
    footage = sorted((DEMO_MEDIA / "footage").glob("*.*"))
    body = make_clip(tmp_path / "body5.mp4", video=footage[-1], audio=sorted((DEMO_MEDIA / "music").glob("*.opus"))[7],
                     duration=20, audio_start=5.0)
    new = tmp_path / "new"
    new.mkdir()
    _join([(work / "intro.mp4", 0.0, INTRO_SECONDS), (body, 0.0, 20.0)], new / "ep5.mp4")
    out = scans["store"].parent
    ingest(_config("ingest", IngestConfig, out, input=str(new)), read_inputs(str(new)))
    cfg = _config("scan", ScanConfig, out)
    store = FingerprintStore(cfg.index)
    stored = store.db.open_table("shared_lines").to_arrow()
    assert set(stored["video_id"].to_pylist()) == {f"ep{i}" for i in range(5)}
    with caplog.at_level("INFO", logger="avm.match.shared"):
        calibration = calibrate_catalog(store, cfg.match.per_modality(cfg.model.modalities), cfg.search)
    for modality in ("audio", "visual"):
        assert f"shared content ({modality}): 5 catalog videos searched before, 1 to search" in caplog.text
        for i in range(6):
            held = calibration.shared.held_by(modality, f"ep{i}", min_videos=3)
            assert held and held[0][0] <= 1.0 and INTRO_SECONDS - 1.5 <= held[0][1] <= INTRO_SECONDS + 2.5, \
                (modality, i, held)

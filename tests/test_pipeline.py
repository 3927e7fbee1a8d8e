"""The jobs end to end on real files: real ffmpeg, real local Ray, a real LanceDB table."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import ffmpeg
import pandas as pd
import pytest
import ray
from hydra import compose, initialize_config_dir

from avm.index import FingerprintStore, fingerprint_rows
from avm.manifest import read_inputs
from avm.media import ffmpeg_exe
from avm.pipeline import options
from avm.pipeline.runner import ingest_from_config, match_file_from_config, scan_from_config
from jobs import CONFIG_DIR

from conftest import DEMO_MEDIA, make_clip


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def _config(name: str, out: Path, **overrides: str):
    items = [f"paths.output_dir={out}", *(f"{k}={v}" for k, v in overrides.items())]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name=name, overrides=items)


def _pirate_copy(src: Path, out: Path, filler_video: Path, filler_audio: Path, start: float, length: float) -> Path:
    """Filler, then ``length`` s of ``src`` from ``start`` shrunk and re-encoded, then filler again."""
    before = make_clip(out.with_suffix(".before.mp4"), video=filler_video, audio=filler_audio, duration=6)
    after = make_clip(out.with_suffix(".after.mp4"), video=filler_video, audio=filler_audio, duration=6,
                      audio_start=20)
    parts = []
    for stream in (ffmpeg.input(str(before)), ffmpeg.input(str(src), ss=start, t=length), ffmpeg.input(str(after))):
        parts += [stream["v:0"].filter("scale", 240, 136).filter("setsar", 1).filter("fps", 25),
                  stream["a:0"].filter("aresample", 44100)]
    joined = ffmpeg.concat(*parts, v=1, a=1).node
    (ffmpeg.output(joined[0], joined[1], str(out), vcodec="libx264", preset="veryfast", crf=34, acodec="aac",
                   audio_bitrate="48k").overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    return out


@pytest.fixture(scope="module")
def catalog(media_dir, tmp_path_factory):
    """One ingest of the generated media, bad files included."""
    out = tmp_path_factory.mktemp("catalog")
    cfg = _config("ingest", out, input=str(media_dir))
    summary = ingest_from_config(cfg, read_inputs(str(media_dir)))
    return cfg, out, summary


def test_bad_files_give_error_rows_and_the_rest_is_ingested(catalog):
    cfg, _, summary = catalog
    assert summary.files == 6 and summary.ingested == 4 and summary.failed == 2
    store = FingerprintStore(options.index_options(cfg))
    videos = store.videos().to_pandas().set_index("video_id")
    assert videos.loc["empty", "status"] == "failed" and "empty.mp4: file is empty" in videos.loc["empty", "error"]
    assert videos.loc["text", "status"] == "failed" and "text.mp4: not a readable media file" in videos.loc["text", "error"]
    assert set(videos.index[videos.status == "ok"]) == {"av", "video_only", "audio_only", "letterbox"}
    # a file is fingerprinted on the modalities it has
    assert store.intervals_of("audio", "video_only").num_rows == 0
    assert store.intervals_of("visual", "video_only").num_rows > 0
    assert store.intervals_of("visual", "audio_only").num_rows == 0
    assert store.intervals_of("audio", "audio_only").num_rows > 0
    assert videos.loc["av", "n_intervals"] == store.intervals_of("audio", "av").num_rows + \
        store.intervals_of("visual", "av").num_rows
    assert "audio_cnn-" in videos.loc["av", "model_versions"]


def test_reingest_adds_nothing_and_interrupted_runs_heal(catalog, media_dir, tmp_path):
    cfg, _, _ = catalog
    store = FingerprintStore(options.index_options(cfg))
    counts = {m: store.count(m) for m in ("audio", "visual")}
    again = ingest_from_config(cfg, read_inputs(str(media_dir)))
    assert again.ingested == 0 and again.skipped == 4
    assert {m: store.count(m) for m in ("audio", "visual")} == counts
    # an interrupted run left fingerprints of "extra" but never marked it ok: the next run replaces them
    extra = tmp_path / "extra.mp4"
    shutil.copy(DEMO_MEDIA / "footage" / "friday.mp4", extra)
    store.add_fingerprints("audio", store.intervals_of("audio", "av").drop_columns([]).set_column(
        0, "video_id", [["extra"] * store.intervals_of("audio", "av").num_rows]).select(
        ["video_id", "t_start", "t_end", "vector", "model_version"]).add_column(1, "modality", [["audio"] * store.intervals_of("audio", "av").num_rows]))
    healed = ingest_from_config(cfg, read_inputs(str(extra)))
    assert healed.ingested == 1
    clean = FingerprintStore(options.index_options(_config("ingest", tmp_path / "clean", input=str(extra))))
    ingest_from_config(_config("ingest", tmp_path / "clean", input=str(extra)), read_inputs(str(extra)))
    assert store.intervals_of("audio", "extra").num_rows == clean.intervals_of("audio", "extra").num_rows
    # the same bytes under another name are recorded as a duplicate, not fingerprinted twice
    twin = tmp_path / "twin.mp4"
    shutil.copy(media_dir / "av.mp4", twin)
    dup = ingest_from_config(cfg, read_inputs(str(twin)))
    assert dup.duplicates == 1 and store.intervals_of("audio", "twin").num_rows == 0


def test_scan_files_and_catalog_find_the_copied_segment(catalog, media_dir, tmp_path):
    cfg, out, _ = catalog
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    query = _pirate_copy(media_dir / "av.mp4", tmp_path / "pirate.mp4", sorted((DEMO_MEDIA / "photos").glob("*.jpg"))[0],
                         music[-1], start=2.0, length=8.0)
    scan_cfg = _config("scan", out, queries=str(query), output_dir=str(tmp_path / "scan"))
    result = scan_from_config(scan_cfg, read_inputs(str(query)), tmp_path / "scan")
    found = result.matches.to_pandas()
    hit = found[found.ref_id == "av"].sort_values("score", ascending=False)
    assert 1 <= len(hit) <= 2, found  # the copy (weak extra fragments: a known matcher limit, see BENCHMARKS.md)
    row = hit.iloc[0]
    assert abs(row.query_start - 6) <= 1.5 and abs(row.query_end - 14) <= 1.5
    assert abs((row.ref_start - row.query_start) - (2 - 6)) <= 1.0
    assert set(found.ref_id) == {"av"}  # nothing else in the catalog was copied
    # the thresholds were calibrated on this catalog (reversed videos as null queries), stored, and are reused
    calibration = result.calibration
    assert calibration.null_hours > 0 and set(calibration.options) == {"audio", "visual"}
    assert any("false positives" in line and "per query-hour" in line for line in result.lines())
    again = scan_from_config(scan_cfg, read_inputs(str(query)), tmp_path / "scan_again")
    assert again.calibration == calibration
    assert FingerprintStore(options.index_options(scan_cfg)).db.open_table("calibration").count_rows() == 1
    # the Parquet dataset and the CSV are readable by pandas and DuckDB
    frame = pd.read_parquet(tmp_path / "scan" / "matches")
    assert len(frame) == len(found) and {"query_id", "ref_start", "score", "modality", "run_id"} <= set(frame.columns)
    count = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path / 'scan' / 'matches'}/*.parquet')").fetchall()[0][0]
    assert count == len(found)
    csv = pd.read_csv(tmp_path / "scan" / "matches.csv")
    assert list(csv.columns) == ["ID-piracy", "SEG-piracy", "ID-license", "SEG-license"]
    # the same file through `avm match` (in-process) agrees
    single = match_file_from_config(_config("match_file", out, file=str(query)), str(query)).to_pandas()
    assert list(single.ref_id) == list(found.ref_id)
    # catalog mode: once ingested, the pirate copy and its source find each other (never themselves)
    ingest_from_config(_config("ingest", out, input=str(query)), read_inputs(str(query)))
    catalog_scan = scan_from_config(_config("scan", out), None, tmp_path / "catalog_scan").matches.to_pandas()
    pairs = set(zip(catalog_scan.query_id, catalog_scan.ref_id))
    assert {("pirate", "av"), ("av", "pirate")} <= pairs
    assert all(q != r for q, r in pairs)

"""Catalog operations on real files, real ffmpeg, real Ray and a real LanceDB: names, changed files, damaged and
hostile inputs, missing catalogs, takedowns, model swaps and the index policy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from avm.errors import UserError
from avm.index import (
    BatchedWriter,
    FingerprintStore,
    IndexOptions,
    ModelMismatch,
    audit_rows,
    delete_videos,
    knn,
    store_videos,
    video_row,
)
from avm.index.maintenance import index_policy
from avm.index.snapshot import CatalogSnapshot
from avm.manifest import read_inputs
from avm.media import ffmpeg_exe
from avm.pipeline import IngestConfig, MatchFileConfig, match_file
from avm.pipeline.config import ReindexConfig
from avm.pipeline.reindex import run_reindex
from avm.pipeline.runner import ingest
from avm.types import Fingerprints

from conftest import excerpt, job_config

# the previous audio model, unprojected (the shipped projection belongs to audio_v2)
AUDIO_V1 = {"model.audio.checkpoint": "avm/models/checkpoints/audio_v1.pt", "model.audio.projection": "null"}


pytestmark = pytest.mark.usefixtures("local_ray")


def _catalog(tmp_path: Path, files: dict[str, Path], **overrides: object) -> IngestConfig:
    """Ingest ``files`` (catalog name → source file) from a folder of their own; returns the ingest config."""
    folder = tmp_path / "refs"
    folder.mkdir(exist_ok=True)
    for name, src in files.items():
        shutil.copy(src, folder / name)
    cfg = job_config("ingest", IngestConfig, tmp_path, input=str(folder), **overrides)
    ingest(cfg, read_inputs(str(folder)))
    return cfg


def _matches(tmp_path: Path, query: Path, **overrides: object) -> set[str]:
    cfg = job_config("match_file", MatchFileConfig, tmp_path, file=str(query), **overrides)
    return {s.ref_id for s in match_file(cfg, str(query))}


def test_a_copy_named_like_the_catalog_video_is_matched(media_dir, tmp_path):
    _catalog(tmp_path, {"av.mp4": media_dir / "av.mp4"})
    (tmp_path / "upload").mkdir()
    copy = excerpt(media_dir / "av.mp4", tmp_path / "upload" / "av.mp4", start=2, length=8)
    assert _matches(tmp_path, copy) == {"av"}


def test_new_content_under_a_known_id_is_replaced_or_refused(media_dir, tmp_path):
    cfg = _catalog(tmp_path, {"clip.mp4": media_dir / "av.mp4"})
    store = FingerprintStore(cfg.index)
    assert store.intervals_of("audio", "clip").num_rows > 0
    other = tmp_path / "new"
    other.mkdir()
    shutil.copy(media_dir / "video_only.mp4", other / "clip.mp4")
    summary = ingest(cfg, read_inputs(str(other)))
    assert (summary.ingested, summary.replaced, summary.skipped) == (1, 1, 0)
    store.refresh()
    row = store.videos(where="video_id = 'clip'").to_pylist()[0]
    assert row["uri"] == str(other / "clip.mp4")
    assert store.intervals_of("audio", "clip").num_rows == 0  # the new file has no sound
    assert store.intervals_of("visual", "clip").num_rows == len(set(store.intervals_of("visual", "clip")["t_start"]
                                                                      .to_pylist())) > 0
    assert store.count("audio") == 0 and store.count("visual") == store.intervals_of("visual", "clip").num_rows
    third = tmp_path / "third"
    third.mkdir()
    shutil.copy(media_dir / "audio_only.m4a", third / "clip.m4a")
    refused = ingest(job_config("ingest", IngestConfig, tmp_path, input=str(third), on_change="refuse"),
                     read_inputs(str(third)))
    assert refused.failed == 1 and "already holds another file" in refused.failures[0][1]
    store.refresh()
    assert store.videos(where="video_id = 'clip'").to_pylist()[0]["uri"] == str(other / "clip.mp4")


def test_a_new_file_that_cannot_be_read_leaves_the_stored_video_alone(media_dir, tmp_path):
    cfg = _catalog(tmp_path, {"clip.mp4": media_dir / "av.mp4"})
    (tmp_path / "refs" / "clip.mp4").write_text("the upload was overwritten by an error page\n")
    summary = ingest(cfg, read_inputs(str(tmp_path / "refs")))
    assert summary.failed == 1 and "clip" in dict(summary.failures)
    store = FingerprintStore(cfg.index)
    assert store.videos(where="video_id = 'clip'")["status"].to_pylist() == ["ok"]
    assert store.intervals_of("audio", "clip").num_rows > 0


def _cut(src: Path, out: Path, fraction: float) -> Path:
    """A Matroska remux of ``src`` cut to ``fraction`` of its bytes (a download that stopped part way)."""
    whole = out.with_suffix(".whole.mkv")
    import ffmpeg

    ffmpeg.input(str(src)).output(str(whole), c="copy").overwrite_output().global_args("-loglevel", "error").run(
        cmd=ffmpeg_exe())
    data = whole.read_bytes()
    out.write_bytes(data[:int(len(data) * fraction)])
    whole.unlink()
    return out


@pytest.mark.parametrize(("on_damage", "status"), [("partial", "partial"), ("fail", "failed")])
def test_a_truncated_file_is_flagged_not_stored_as_ok(media_dir, tmp_path, on_damage, status):
    cut = _cut(media_dir / "av.mp4", tmp_path / "cut.mkv", 0.4)
    cfg = _catalog(tmp_path, {"cut.mkv": cut}, **{"media.on_damage": on_damage})
    store = FingerprintStore(cfg.index)
    row = store.videos().to_pylist()[0]
    assert row["status"] == status and "probed" in row["error"], row
    assert (store.intervals_of("audio", "cut").num_rows > 0) == (status == "partial")


def test_playlists_and_special_files_fail_alone(media_dir, tmp_path):
    import ffmpeg

    segment = tmp_path / "clip.ts"  # a playlist that would pull in another local file
    ffmpeg.input(str(media_dir / "av.mp4")).output(str(segment), c="copy").global_args("-loglevel", "error").run(
        cmd=ffmpeg_exe())
    playlist = tmp_path / "list.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:12\n#EXTINF:12.0,\nclip.ts\n#EXT-X-ENDLIST\n")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"uri,video_id\n{playlist},playlist\n{fifo},fifo\n/dev/zero,zero\n{media_dir / 'av.mp4'},av\n")
    cfg = job_config("ingest", IngestConfig, tmp_path, input=str(manifest))
    summary = ingest(cfg, read_inputs(str(manifest)))
    failures = dict(summary.failures)
    assert summary.ingested == 1 and set(failures) == {"playlist", "fifo", "zero"}
    assert "container format 'hls' is not allowed" in failures["playlist"]
    assert "not a regular file" in failures["fifo"] and "not a regular file" in failures["zero"]


def test_a_missing_or_empty_catalog_is_a_user_error_and_reading_creates_nothing(media_dir, tmp_path):
    missing = tmp_path / "typo_db"
    with pytest.raises(UserError, match="no catalog"):
        _matches(tmp_path, media_dir / "av.mp4", **{"index.uri": str(missing)})
    assert not missing.exists()
    cfg = _catalog(tmp_path, {"text.mp4": media_dir / "text.mp4"})  # nothing searchable
    with pytest.raises(UserError, match="no searchable video"):
        _matches(tmp_path, media_dir / "av.mp4", **{"index.uri": cfg.index.uri})


def test_a_takedown_removes_every_row_and_its_bytes(media_dir, tmp_path):
    cfg = _catalog(tmp_path, {"av.mp4": media_dir / "av.mp4", "other.mp4": media_dir / "video_only.mp4"})
    copy = excerpt(media_dir / "av.mp4", tmp_path / "pirate.mp4", start=2, length=8)
    assert "av" in _matches(tmp_path, copy)
    store = FingerprintStore(cfg.index)
    dry = delete_videos(store, ["av", "nope"], reason="licence ended", dry_run=True)
    assert dry.found == ["av"] and dry.missing == ["nope"] and dry.rows["videos"] == 1
    assert store.intervals_of("audio", "av").num_rows > 0  # a dry run removes nothing
    report = delete_videos(store, ["av"], reason="licence ended", user="tester")
    assert report.bytes_after < report.bytes_before
    assert "av" not in _matches(tmp_path, copy)
    for name in store.fingerprint_tables():
        table = store.table(name)
        assert table.count_rows("video_id = 'av'") == 0 and len(table.list_versions()) == 1  # no old version keeps it
    audit = audit_rows(store).to_pylist()
    assert [(a["video_id"], a["user"], a["reason"]) for a in audit] == [("av", "tester", "licence ended")]


def test_reindex_builds_a_new_version_beside_the_one_in_use_then_swaps_and_rolls_back(media_dir, tmp_path):
    cfg = _catalog(tmp_path, {"av.mp4": media_dir / "av.mp4", "song.m4a": media_dir / "audio_only.m4a"})
    store = FingerprintStore(cfg.index)
    before = store.active_versions()
    in_flight = FingerprintStore(cfg.index, store.take_snapshot())  # a scan that started before the swap
    query = in_flight.intervals_of("audio", "av")
    reindex = job_config("reindex", ReindexConfig, tmp_path, **AUDIO_V1)
    summary = run_reindex(reindex)
    assert summary.fingerprinted == 2 and summary.after["audio"] != before["audio"]
    assert summary.after["visual"] == before["visual"]
    store.refresh()
    assert store.active_versions() == summary.after and store.previous_versions() == {"audio": before["audio"]}
    # the scan in flight still searches the version it started with; new scans need the new model
    vectors = Fingerprints.from_rows("audio", query).vectors
    assert set(knn(in_flight, "audio", vectors, k=1).video_id) == {"av"}
    with pytest.raises(ModelMismatch):
        _matches(tmp_path, media_dir / "av.mp4")
    assert "av" in _matches(tmp_path, media_dir / "av.mp4", **AUDIO_V1)
    assert run_reindex(reindex).fingerprinted == 0  # already there: nothing to do
    run_reindex(job_config("reindex", ReindexConfig, tmp_path, action="rollback"))
    store.refresh()
    assert store.active_versions() == before
    assert "av" in _matches(tmp_path, media_dir / "av.mp4")


def _unit_walk(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = np.cumsum(rng.standard_normal((n, dim)).astype(np.float32) * 0.3, axis=0) + rng.standard_normal(dim) * 3
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_index_is_retrained_once_the_table_has_grown_and_new_rows_are_searched(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db"), build_min_rows=300, rebuild_growth=2.0))
    rng = np.random.default_rng(0)
    t = np.arange(100, dtype=np.float32)

    def add(first: int, count: int) -> None:
        store_videos(store, {f"v{i}": {"audio": Fingerprints("audio", t, t + 1, _unit_walk(rng, 100), "m")}
                             for i in range(first, first + count)})

    add(0, 2)
    assert index_policy(store, store.fingerprints("audio")) == "exact search"
    add(2, 2)
    assert index_policy(store, store.fingerprints("audio")) == "trained"
    add(4, 2)
    assert index_policy(store, store.fingerprints("audio")) == "kept"
    late = store.intervals_of("audio", "v5")  # not in the index yet: still found
    hits = knn(store, "audio", Fingerprints.from_rows("audio", late).vectors[:5], k=1)
    assert set(hits.video_id) == {"v5"}
    add(6, 2)
    assert index_policy(store, store.fingerprints("audio")) == "retrained"
    # a takedown on an indexed table: the rewritten fragments keep every other row findable through the index
    kept = Fingerprints.from_rows("audio", store.intervals_of("audio", "v1")).vectors[:5]
    delete_videos(store, ["v0"], reason="test")
    assert set(knn(store, "audio", kept, k=1).video_id) == {"v1"}
    assert store.fingerprints("audio").count_rows("video_id = 'v0'") == 0 and store.has_vector_index("audio")


def test_a_write_that_began_before_a_takedown_does_not_bring_the_video_back(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    rng = np.random.default_rng(2)
    t = np.arange(20, dtype=np.float32)
    store_videos(store, {"a": {"audio": Fingerprints("audio", t, t + 1, _unit_walk(rng, 20), "m")}})
    writer = BatchedWriter(store, {"audio": "m"})  # e.g. an ingest that read the file before the takedown
    writer.add("a", {"audio": Fingerprints("audio", t, t + 1, _unit_walk(rng, 20), "m")}, video_row("a", "a", "ok"))
    delete_videos(store, ["a"], reason="licence ended")
    writer.flush()
    assert store.videos().num_rows == 0 and store.fingerprints("audio", "m").count_rows() == 0


def test_search_returns_only_the_snapshots_videos(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    rng = np.random.default_rng(1)
    t = np.arange(20, dtype=np.float32)
    prints = {v: {"audio": Fingerprints("audio", t, t + 1, _unit_walk(rng, 20), "m")} for v in ("a", "b")}
    store_videos(store, prints)
    only_a = CatalogSnapshot(store.snapshot().versions, {"audio": {"a": store.snapshot().batch_of("audio", "a")}},
                             {"a": 20.0})
    pinned = FingerprintStore(store.opts, only_a)
    assert set(knn(pinned, "audio", prints["b"]["audio"].vectors, k=3).video_id) <= {"a"}

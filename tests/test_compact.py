"""Compact fingerprints fitted on the catalog: ``avm fit-projection projection.source=catalog`` on a real store, then
``avm reindex`` deriving the new fingerprints from the stored ones (no decoding), killed and run again."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from avm.fingerprint import Fingerprinter, FingerprintOptions, Projection, fit_on_stored, fit_projection
from avm.index import FingerprintStore
from avm.index.stream import set_sizes
from avm.manifest import read_inputs
from avm.media import DecodeOptions, decode
from avm.pipeline import IngestConfig, MatchFileConfig, match_file
from avm.pipeline.config import ReindexConfig
from avm.pipeline.reindex import run_reindex
from avm.pipeline.runner import ingest
from avm.types import Fingerprints

from conftest import DEMO_MEDIA, REPO, excerpt, job_config, make_clip

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")
CLIPS = 6


pytestmark = pytest.mark.usefixtures("local_ray")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 30 s clips of different music and footage, and a silent one (a set with no audio)."""
    folder = tmp_path_factory.mktemp("clips")
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    footage = sorted(p for p in (DEMO_MEDIA / "footage").iterdir() if p.suffix in (".mp4", ".webm"))
    for i in range(CLIPS):
        make_clip(folder / f"clip{i}.mp4", video=footage[i % len(footage)], audio=music[i], duration=30)
    make_clip(folder / "silent.mp4", video=footage[-1], audio=None, duration=10)
    return folder


def _catalog(tmp_path: Path, clips: Path) -> IngestConfig:
    cfg = job_config("ingest", IngestConfig, tmp_path, input=str(clips))
    ingest(cfg, read_inputs(str(clips)))
    return cfg


def _fit(tmp_path: Path, modality: str, dim: int, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([AVM, "fit-projection", "projection.source=catalog", f"index.uri={tmp_path / 'lancedb'}",
                           f"projection.modality={modality}", f"projection.dim={dim}",
                           f"projection.out={tmp_path / modality}.npz", f"paths.output_dir={tmp_path}", *extra],
                          capture_output=True, text=True, cwd=REPO)


def test_a_projection_fitted_on_stored_vectors_derives_what_the_model_would_give():
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((3000, 128)).astype(np.float32) @ rng.standard_normal((128, 128)) * 0.1
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    base = fit_projection(embeddings, 64, "model-x")
    stored = base.apply(embeddings)  # what a catalog of the base projection holds (float16)
    compact = fit_on_stored(stored, 16, base.version("model-x"), base)
    assert compact.model_version == "model-x" and compact.dim == 16 and compact.basis.shape == (128, 16)
    assert np.allclose(compact.basis.T @ compact.basis, np.eye(16), atol=1e-4)
    assert compact.derives_from(base.version("model-x")) and not compact.derives_from("model-x")
    assert not base.derives_from(base.version("model-x"))  # fitted on training data: nothing to derive from
    derived, direct = compact.derive(stored).astype(np.float32), compact.apply(embeddings).astype(np.float32)
    assert np.min(np.sum(derived * direct, axis=1)) > 0.999


def test_fitted_on_the_catalog_then_derived_by_reindex_without_decoding(clips, tmp_path):
    cfg = _catalog(tmp_path, clips)
    store = FingerprintStore(cfg.index)
    before = store.active_versions()
    fitted = _fit(tmp_path, "audio", 8)
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    projection = Projection.load(tmp_path / "audio.npz")
    assert projection.fitted_on == before["audio"] and projection.dim == 8
    reindex = job_config("reindex", ReindexConfig, tmp_path, **{"model.audio.projection": tmp_path / "audio.npz"})
    summary = run_reindex(reindex)
    assert summary.fingerprinted == 0 and summary.derived == {"audio": CLIPS + 1}  # the silent clip: an empty set
    assert summary.after == {**before, "audio": projection.version(projection.model_version)}
    assert any("derived from stored fingerprints" in line for line in summary.lines())
    store.refresh()
    assert store.intervals_of("audio", "silent").num_rows == 0
    # the derived fingerprints are those the compact model gives the file itself, up to float16 rounding
    options = dataclasses.replace(FingerprintOptions(), modalities=("audio",),
                                  audio=dataclasses.replace(FingerprintOptions().audio,
                                                            projection=str(tmp_path / "audio.npz")))
    fresh = Fingerprinter(options).fingerprint(decode(str(clips / "clip2.mp4"), DecodeOptions()))["audio"]
    derived = Fingerprints.from_rows("audio", store.intervals_of("audio", "clip2"))
    assert np.array_equal(derived.t_start, fresh.t_start) and derived.dim == 8
    assert np.min(np.sum(derived.vectors * fresh.vectors.astype(np.float32), axis=1)) > 0.99
    # a copy is found with the compact model; the old model is refused by the catalog now
    (tmp_path / "upload").mkdir()
    copy = excerpt(clips / "clip3.mp4", tmp_path / "upload" / "copy.mp4", start=5, length=15)
    match = job_config("match_file", MatchFileConfig, tmp_path, file=str(copy), **{"model.modalities": "[audio]",
                       "model.audio.projection": tmp_path / "audio.npz"})
    assert {s.ref_id for s in match_file(match, str(copy))} == {"clip3"}


def test_catalog_fit_refuses_bad_requests_in_one_line(clips, tmp_path):
    _catalog(tmp_path, clips)
    for extra, reason in [((), "must be below the stored 64 dimensions"),
                          (("model.audio.projection=null",), "not of the configured")]:
        run = _fit(tmp_path, "audio", 64 if not extra else 8, *extra)
        assert run.returncode != 0 and reason in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
    run = _fit(tmp_path, "visual", 32)
    assert run.returncode != 0 and "too few to fit 32 dimensions" in run.stderr, run.stderr[-2000:]


def test_a_derivation_killed_part_way_and_run_again_ends_as_one_clean_run(clips, tmp_path):
    cfg = _catalog(tmp_path, clips)
    assert _fit(tmp_path, "visual", 8).returncode == 0
    store = FingerprintStore(cfg.index)
    old = store.active_versions()
    new = Projection.load(tmp_path / "visual.npz")
    new_version = new.version(new.model_version)
    # one commit per video, so that the kill lands between commits of one run
    job = subprocess.Popen([AVM, "reindex", f"paths.output_dir={tmp_path}", "write_batch_rows=1",
                            f"model.visual.projection={tmp_path / 'visual.npz'}"],
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while job.poll() is None and time.monotonic() < deadline:
        if set_sizes(store, "visual", new_version):
            break
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)
    assert job.wait(60) == -signal.SIGKILL, "the reindex ended before its first commit could be interrupted"
    store.refresh()
    assert store.active_versions() == old  # scans still search the old version, whole
    written = set_sizes(store, "visual", new_version)
    assert 0 < len(written) < CLIPS + 1
    summary = run_reindex(job_config("reindex", ReindexConfig, tmp_path,
                                     **{"model.visual.projection": tmp_path / "visual.npz"}))
    assert summary.derived == {"visual": CLIPS + 1 - len(written)} and summary.fingerprinted == 0
    store.refresh()
    assert store.active_versions()["visual"] == new_version
    sizes = set_sizes(store, "visual", new_version)
    assert len(sizes) == CLIPS + 1 and {v: s for v, s in sizes.items() if v in written} == written  # kept, not redone
    for video_id, (_, n) in sizes.items():
        rows = store.intervals_of("visual", video_id)
        times = rows["t_start"].to_pylist()
        assert len(times) == n == set_sizes(store, "visual", old["visual"])[video_id][1] and len(set(times)) == n


def test_an_ingest_beside_a_derivation_loses_no_video(clips, tmp_path):
    cfg = _catalog(tmp_path, clips)
    assert _fit(tmp_path, "audio", 8).returncode == 0
    late = tmp_path / "late"
    late.mkdir()
    make_clip(late / "late.mp4", video=sorted((DEMO_MEDIA / "footage").glob("*.mp4"))[0],
              audio=sorted((DEMO_MEDIA / "music").glob("*.opus"))[-1], duration=20)
    # an ingest with the catalog's current models, started beside the reindex on the same store
    job = subprocess.Popen([AVM, "ingest", f"input={late}", f"paths.output_dir={tmp_path}"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    summary = run_reindex(job_config("reindex", ReindexConfig, tmp_path,
                                     **{"model.audio.projection": tmp_path / "audio.npz"}))
    _, stderr = job.communicate(timeout=300)
    store = FingerprintStore(cfg.index)
    active = store.active_versions()["audio"]
    assert active == summary.after["audio"]
    live = set(store.live_videos(["video_id"])["video_id"].to_pylist())
    # either the ingest committed first and the reindex derived it too, or it came after the swap and was refused
    assert live == {*(f"clip{i}" for i in range(CLIPS)), "silent", "late"} if job.returncode == 0 else (
        "avm reindex" in stderr and "late" not in live)
    sizes = set_sizes(store, "audio", active)
    assert set(sizes) == live
    for video_id, (_, n) in sizes.items():
        times = store.intervals_of("audio", video_id)["t_start"].to_pylist()
        assert len(times) == n and len(set(times)) == n

"""Concurrency soak: three ingests of overlapping inputs, a scan and a takedown run at once on one store (real
``avm`` processes, each with its own Ray); afterwards no row is lost, duplicated or orphaned."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from avm.index import FingerprintStore, IndexOptions, audit_rows, leftover_rows
from avm.types import vector_matrix

from conftest import DEMO_MEDIA, excerpt

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")


def _avm(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([AVM, *args, "ray.num_cpus=1"] if args[0] not in ("delete",) else [AVM, *args],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _state(store: FingerprintStore) -> dict[str, tuple[int, float]]:
    """(rows, sum of vectors) of the current fingerprints and segment vectors per modality and video."""
    snapshot = store.snapshot()
    out = {}
    for modality in snapshot.versions:
        for video_id in snapshot.batches.get(modality, {}):
            for segments in (False, True):
                rows = store.intervals_of(modality, video_id, segments)
                total = float(vector_matrix(rows["vector"]).sum()) if rows.num_rows else 0.0
                out[f"{modality}/{video_id}/{'segments' if segments else 'intervals'}"] = (rows.num_rows, round(total, 2))
    return out


def test_three_ingests_a_scan_and_a_takedown_at_once(media_dir, tmp_path):
    files = {"f1": DEMO_MEDIA / "footage" / "flower.webm", "f2": media_dir / "video_only.mp4", "f3": media_dir / "audio_only.m4a",
             "f4": media_dir / "letterbox.mp4", "f5": DEMO_MEDIA / "footage" / "friday.mp4"}
    store_uri = tmp_path / "db"
    common = [f"index.uri={store_uri}", f"paths.output_dir={tmp_path / 'out'}"]
    first = tmp_path / "first.csv"
    first.write_text(f"uri,video_id\n{media_dir / 'av.mp4'},keeper\n"
                     f"{DEMO_MEDIA / 'footage' / 'toy-monster.mp4'},victim\n")
    assert subprocess.run([AVM, "ingest", f"input={first}", *common], cwd=tmp_path,
                          capture_output=True).returncode == 0
    manifests = []
    for name, ids in (("a", ("f1", "f2", "f3")), ("b", ("f2", "f3", "f4")), ("c", ("f3", "f4", "f5"))):
        path = tmp_path / f"{name}.csv"
        path.write_text("uri,video_id\n" + "".join(f"{files[i]},{i}\n" for i in ids))
        manifests.append(path)
    query = excerpt(media_dir / "av.mp4", tmp_path / "upload.mp4", start=2, length=8)
    # the second ingest decodes in pieces (4 s, 3 s margins): its files must end as those of the whole-file ingests
    pieces = ([], ["media.chunk_seconds=4", "media.chunk_margin_seconds=3"], [])
    jobs = [_avm("ingest", f"input={m}", "write_batch_rows=50", *common, *p, cwd=tmp_path)
            for m, p in zip(manifests, pieces, strict=True)]
    jobs.append(_avm("scan", f"queries={query}", f"output_dir={tmp_path / 'scan'}", *common, cwd=tmp_path))
    jobs.append(_avm("delete", "ids=[victim]", "reason=soak test", *common, cwd=tmp_path))
    outputs = [job.communicate(timeout=900)[0] for job in jobs]
    assert [job.returncode for job in jobs] == [0] * len(jobs), "\n\n".join(outputs)

    store = FingerprintStore(IndexOptions(uri=str(store_uri)))
    videos = {r["video_id"]: (r["status"], r["n_intervals"]) for r in store.videos().to_pylist()}
    assert set(videos) == {"keeper", *files} and {s for s, _ in videos.values()} == {"ok"}
    assert leftover_rows(store) == {}
    snapshot = store.snapshot()
    for modality in snapshot.versions:
        assert store.missing_segments(modality) == {}
        for segments in (False, True):  # the fingerprints, then their segment vectors
            table = store.fingerprints(modality, segments=segments)
            assert table.count_rows("video_id = 'victim'") == 0
            current = sum(store.intervals_of(modality, v, segments).num_rows for v in videos)
            assert table.count_rows() == current  # nothing orphaned or left over
            for video_id in videos:
                times = store.intervals_of(modality, video_id, segments)["t_start"].to_pylist()
                assert len(times) == len(set(times)), f"{modality}/{video_id} holds a row twice"
    for video_id, (_, n_intervals) in videos.items():
        assert n_intervals == sum(store.intervals_of(m, video_id).num_rows for m in snapshot.versions)
    assert [a["video_id"] for a in audit_rows(store).to_pylist()] == ["victim"]

    clean_uri = tmp_path / "clean"
    every = tmp_path / "every.csv"
    every.write_text("uri,video_id\n" + "".join(f"{p},{i}\n" for i, p in files.items()) +
                     f"{media_dir / 'av.mp4'},keeper\n")
    assert subprocess.run([AVM, "ingest", f"input={every}", f"index.uri={clean_uri}",
                           f"paths.output_dir={tmp_path / 'out'}"], cwd=tmp_path, capture_output=True).returncode == 0
    soaked, clean = _state(store), _state(FingerprintStore(IndexOptions(uri=str(clean_uri))))
    assert soaked.keys() == clean.keys()
    assert all(soaked[k][0] == clean[k][0] and np.isclose(soaked[k][1], clean[k][1], atol=0.05) for k in clean)

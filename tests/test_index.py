"""The LanceDB store: writes, deletes, search with and without an ANN index."""

from __future__ import annotations

import numpy as np
import pytest

from avm.index import FingerprintStore, IndexOptions, fingerprint_rows, knn


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fill(store: FingerprintStore, rng: np.random.Generator, videos: int, per_video: int, dim: int = 32) -> dict:
    vectors = {}
    for i in range(videos):
        # smooth random walks, like real fingerprints: neighbours in time are similar
        steps = _unit(rng, per_video, dim) * 0.3
        walk = np.cumsum(steps, axis=0) + _unit(rng, 1, dim) * 3
        v = walk / np.linalg.norm(walk, axis=1, keepdims=True)
        t = np.arange(per_video, dtype=np.float32)
        store.add_fingerprints("audio", fingerprint_rows(f"v{i}", "audio", t, t + 2, v, "test-model"))
        vectors[f"v{i}"] = v
    return vectors


def test_write_read_search_and_delete(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    rng = np.random.default_rng(0)
    vectors = _fill(store, rng, videos=5, per_video=50)
    assert store.count("audio") == 250
    rows = store.intervals_of("audio", "v2")
    assert rows.num_rows == 50 and rows["t_start"].to_pylist()[:3] == [0.0, 1.0, 2.0]
    assert rows["model_version"][0].as_py() == "test-model"
    query = vectors["v2"][10:13] + 0.01 * _unit(rng, 3, 32)
    hits = knn(store, "audio", query, k=3)
    top = hits.to_pandas().sort_values("similarity", ascending=False).groupby("query_index").first()
    assert list(top["video_id"]) == ["v2"] * 3 and list(top["t_start"]) == [10.0, 11.0, 12.0]
    excluded = knn(store, "audio", query, k=3, exclude_video_id="v2")
    assert "v2" not in set(excluded["video_id"].to_pylist()) and excluded.num_rows == 9
    store.delete_fingerprints(["v2"], ("audio",))
    assert store.count("audio") == 200 and store.intervals_of("audio", "v2").num_rows == 0


def test_dimension_mismatch_is_refused(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    _fill(store, np.random.default_rng(1), videos=1, per_video=5, dim=32)
    with pytest.raises(ValueError, match="32-d"):
        store.fingerprints("audio", 64)


def test_ann_index_recall_against_exact_search(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db"), build_min_rows=2000, nprobes=16, refine_factor=10))
    rng = np.random.default_rng(2)
    vectors = _fill(store, rng, videos=40, per_video=100)
    assert not store.has_vector_index("audio")
    store.finalize(("audio",))
    assert store.has_vector_index("audio")
    queries = np.concatenate([v[::25] for v in vectors.values()]) + 0.05 * _unit(rng, 160, 32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = knn(store, "audio", queries, k=10, exact=True).to_pandas()
    approx = knn(store, "audio", queries, k=10).to_pandas()
    key = lambda df: set(zip(df.query_index, df.video_id, df.t_start))  # noqa: E731
    recall = len(key(exact) & key(approx)) / len(key(exact))
    assert recall >= 0.9

"""The LanceDB store: writes, deletes, search with and without an ANN index."""

from __future__ import annotations

import numpy as np
import pytest

from avm.index import (
    BatchedWriter,
    FingerprintStore,
    IndexOptions,
    SearchOptions,
    delete_videos,
    finalize,
    impostor_similarities,
    knn,
    read_calibration,
    sql_list,
    sql_literal,
    store_videos,
    video_row,
    write_calibration,
)
from avm.index.in_memory import top_k
from avm.index.options import INDEX_TYPES
from avm.types import Fingerprints, Hits


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fill(store: FingerprintStore, rng: np.random.Generator, videos: int, per_video: int, dim: int = 32) -> dict:
    vectors, prints = {}, {}
    for i in range(videos):
        # smooth random walks, like real fingerprints: neighbours in time are similar
        steps = _unit(rng, per_video, dim) * 0.3
        walk = np.cumsum(steps, axis=0) + _unit(rng, 1, dim) * 3
        v = walk / np.linalg.norm(walk, axis=1, keepdims=True)
        t = np.arange(per_video, dtype=np.float32)
        prints[f"v{i}"] = {"audio": Fingerprints("audio", t, t + 2, v, "test-model")}
        vectors[f"v{i}"] = v
    store_videos(store, prints)
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
    assert isinstance(hits, Hits) and len(hits) == 9
    top = hits.to_table().to_pandas().sort_values("similarity", ascending=False).groupby("query_index").first()
    assert list(top["video_id"]) == ["v2"] * 3 and list(top["t_start"]) == [10.0, 11.0, 12.0]
    excluded = knn(store, "audio", query, k=3, exclude_video_id="v2")
    assert "v2" not in set(excluded.video_id) and len(excluded) == 9
    report = delete_videos(store, ["v2"], reason="test")
    # 50 intervals 1 s apart: 10 s segment vectors every 5 s, the last starting at 40 s
    assert report.rows == {"videos": 1, "fingerprint_sets": 1, "fingerprints_audio__test_model": 50,
                           "fingerprints_audio__test_model__segments": 9}
    assert store.count("audio") == 200 and store.intervals_of("audio", "v2").num_rows == 0
    assert len(knn(store, "visual", query, k=3)) == 0  # no such table: no hits


def test_dimension_mismatch_is_refused(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    _fill(store, np.random.default_rng(1), videos=1, per_video=5, dim=32)
    with pytest.raises(ValueError, match="32-d"):
        store.fingerprints_for_writing("audio", "test-model", 64)


@pytest.mark.parametrize("index_type", INDEX_TYPES)
def test_ann_index_recall_against_exact_search(tmp_path, index_type):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db"), build_min_rows=2000, nprobes=16, refine_factor=10,
                                          index_type=index_type))
    rng = np.random.default_rng(2)
    vectors = _fill(store, rng, videos=40, per_video=100)
    assert not store.has_vector_index("audio")
    # 4,000 intervals: their 760 segment vectors stay under build_min_rows, searched exactly
    assert finalize(store, {"audio": "test-model"}) == {"fingerprints_audio__test_model": "trained",
                                                        "fingerprints_audio__test_model__segments": "exact search"}
    assert store.has_vector_index("audio")
    queries = np.concatenate([v[::25] for v in vectors.values()]) + 0.05 * _unit(rng, 160, 32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    k = SearchOptions().k
    exact = knn(store, "audio", queries, k=k, exact=True).to_table().to_pandas()
    approx = knn(store, "audio", queries, k=k).to_table().to_pandas()
    key = lambda df: set(zip(df.query_index, df.video_id, df.t_start, strict=True))  # noqa: E731
    recall = len(key(exact) & key(approx)) / len(key(exact))
    assert recall >= 0.9


def test_a_small_table_is_searched_in_memory_with_lancedbs_results(tmp_path):
    uri = str(tmp_path / "db")
    store, flat = FingerprintStore(IndexOptions(uri=uri)), FingerprintStore(IndexOptions(uri=uri, in_memory_max_rows=0))
    rng = np.random.default_rng(5)
    vectors = _fill(store, rng, videos=6, per_video=60)
    queries = np.concatenate([v[::7] for v in vectors.values()]) + 0.05 * _unit(rng, 54, 32)
    rows = lambda hits: sorted(zip(hits.query_index.tolist(), hits.video_id.tolist(), hits.t_start.tolist(),  # noqa: E731
                                   hits.similarity.tolist(), strict=True))
    for k, exclude in ((10, None), (10, "v3"), (400, "v0")):  # 400: more than the 300 rows of the other videos
        in_memory = knn(store, "audio", queries, k=k, exclude_video_id=exclude)
        assert rows(in_memory) == rows(knn(flat, "audio", queries, k=k, exclude_video_id=exclude))
        assert len(in_memory) == len(queries) * min(k, 360 - 60 * (exclude is not None))
    assert store.in_memory(store.fingerprints("audio")) is not None and flat.in_memory(flat.fingerprints("audio")) is None
    store_videos(store, {"new": {"audio": Fingerprints("audio", np.zeros(1, np.float32), np.ones(1, np.float32),
                                                       queries[:1], "test-model")}})
    store.refresh()
    assert set(knn(store, "audio", queries[:1], k=1).video_id) == {"new"}  # the next version is read again
    delete_videos(store, ["new"], reason="test")
    store.refresh()
    assert "new" not in set(knn(store, "audio", queries[:1], k=5).video_id)


def test_top_k_puts_the_earlier_of_equal_scores_first():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, -1.0, 5.0, 5.0, 5.0]], np.float32)
    assert top_k(scores, 2).tolist() == [[1, 2], [2, 3]]
    assert top_k(scores, 4).tolist() == [[1, 2, 4, 3], [2, 3, 4, 0]]
    assert top_k(scores, 5).tolist() == [[1, 2, 4, 3, 0], [2, 3, 4, 0, 1]]


def test_sql_literals_quote_ids_with_quotes(tmp_path):
    assert sql_literal("it's") == "'it''s'" and sql_list(["a", "b'c"]) == "('a', 'b''c')"
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    t = np.arange(4, dtype=np.float32)
    store_videos(store, {v: {"audio": Fingerprints("audio", t, t + 1, _unit(np.random.default_rng(3), 4, 8), "m")}
                         for v in ("o'brien", "plain")})
    assert store.intervals_of("audio", "o'brien").num_rows == 4
    hits = knn(store, "audio", _unit(np.random.default_rng(4), 2, 8), k=8, exclude_video_id="o'brien")
    assert set(hits.video_id) == {"plain"}
    delete_videos(store, ["o'brien"], reason="it's a test")
    assert store.count("audio") == 4


def test_live_videos_and_calibration_rows(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    writer = BatchedWriter(store, {})
    for video_id, status in (("a", "ok"), ("b", "failed"), ("c", "partial")):
        writer.add(video_id, None, video_row(video_id, "x", status))
    writer.flush()
    assert store.live_videos(["video_id"]).to_pylist() == [{"video_id": "a"}, {"video_id": "c"}]
    assert read_calibration(store, "key") is None
    write_calibration(store, "key", '{"a": 1}')
    write_calibration(store, "key", '{"a": 2}')
    write_calibration(store, "other", "{}")
    assert read_calibration(store, "key") == '{"a": 2}' and read_calibration(store, "other") == "{}"


def test_impostor_similarities_are_the_best_match_in_another_video(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    vectors = _fill(store, np.random.default_rng(5), videos=4, per_video=30)
    found = impostor_similarities(store, "audio", samples=40, k=4)
    stored = {v: x.astype(np.float16).astype(np.float32) for v, x in vectors.items()}
    rows = [(v, x) for v in stored for x in stored[v]]
    picks = np.sort(np.random.default_rng(0).choice(len(rows), size=40, replace=False))
    expected = [max(float(np.max(other @ rows[i][1])) for v, other in stored.items() if v != rows[i][0])
                for i in picks]
    assert len(found) == 40 and np.allclose(np.sort(found), np.sort(expected), atol=1e-3)


def test_impostor_samples_leave_out_content_that_several_other_videos_hold(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    rng = np.random.default_rng(6)
    ident, copied = _unit(rng, 1, 32), _unit(rng, 1, 32)
    t = np.arange(10, dtype=np.float32)
    prints = {}
    for i in range(4):
        v = _unit(rng, 10, 32)
        v[0] = ident[0] if i < 3 else v[0]  # one interval long, in three videos: held by two others
        v[5] = copied[0] if i in (0, 3) else v[5]  # in two videos: maybe a copy inside the catalog, kept
        prints[f"v{i}"] = {"audio": Fingerprints("audio", t, t + 1, v, "test-model")}
    store_videos(store, prints)
    everything = impostor_similarities(store, "audio", samples=40, k=8)
    kept = impostor_similarities(store, "audio", samples=40, k=8, recurring=(0.9, 2))
    assert len(everything) == 40 and (everything > 0.99).sum() == 5  # the ident three times, the copy twice
    assert len(kept) == 37 and (kept > 0.99).sum() == 2


def test_a_still_shared_by_several_videos_is_left_out_after_the_deeper_search(tmp_path):
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    rng = np.random.default_rng(7)
    title = _unit(rng, 1, 32)
    t = np.arange(20, dtype=np.float32)
    prints = {}
    for i in range(4):
        v = _unit(rng, 20, 32)
        if i < 3:  # ten identical intervals (a still): the nearest 8 of each lie in its own video
            still = title[0] + 0.15 * _unit(rng, 1, 32)[0]
            v[:10] = still / np.linalg.norm(still)
        prints[f"v{i}"] = {"audio": Fingerprints("audio", t, t + 1, v, "test-model")}
    store_videos(store, prints)
    everything = impostor_similarities(store, "audio", samples=80, k=8)
    kept = impostor_similarities(store, "audio", samples=80, k=8, recurring=(0.9, 2))
    assert len(everything) == 80 and (everything > 0.9).sum() == 30
    assert len(kept) == 50 and (kept > 0.9).sum() == 0


def test_pq_sub_vectors_divide_the_dimension_at_about_four_dimensions_each():
    from avm.index.maintenance import pq_sub_vectors

    assert [pq_sub_vectors(d) for d in (128, 64, 32, 8, 3, 30, 50)] == [32, 16, 8, 2, 1, 6, 10]

"""The domain types convert to and from their Arrow tables without loss."""

from __future__ import annotations

import numpy as np

from avm.types import Fingerprints, Hits, Segment, vector_matrix


def test_fingerprints_round_trip_through_rows():
    vectors = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float16)
    prints = Fingerprints("visual", np.arange(6, dtype=np.float32), np.arange(6, dtype=np.float32) + 2, vectors, "m-1")
    rows = prints.to_rows("v1")
    assert rows["video_id"].to_pylist() == ["v1"] * 6 and set(rows["modality"].to_pylist()) == {"visual"}
    back = Fingerprints.from_rows("visual", rows)
    assert back.model_version == "m-1" and back.dim == 8 and len(back) == 6
    assert back.vectors.dtype == np.float32 and np.array_equal(back.vectors, vectors.astype(np.float32))
    assert np.array_equal(back.reversed().vectors, back.vectors[::-1])
    empty = Fingerprints("audio", np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, 8), np.float16))
    assert vector_matrix(empty.to_rows("v0")["vector"]).shape == (0, 8)


def test_hits_and_segments_round_trip_through_tables():
    hits = Hits(np.array([0, 1], np.int32), np.array(["r1", "r2"], dtype=object), np.array([1, 2], np.float32),
                np.array([2, 3], np.float32), np.array([0.9, 0.5], np.float32))
    again = Hits.from_table(hits.to_table())
    assert list(again.video_id) == ["r1", "r2"] and np.array_equal(again.similarity, hits.similarity)
    assert len(again.select(again.similarity > 0.6)) == 1 and len(Hits.empty()) == 0
    segment = Segment("q", 1.0, 5.0, "r", 11.0, 15.4, 0.8, "audio+visual", 9, 1.1)
    assert Segment.from_table(Segment.to_table([segment], "run")) == [segment]
    assert abs(segment.offset - (11.0 - 1.1 * 1.0)) < 1e-12 and segment.duration == 4.0


def test_two_segments_overlap_by_the_query_time_both_cover():
    long, short = Segment("q", 0.0, 10.0, "r", 0.0, 10.0), Segment("q", 8.0, 12.0, "r", 8.0, 12.0)
    apart, empty = Segment("q", 20.0, 25.0, "r", 20.0, 25.0), Segment("q", 5.0, 5.0, "r", 5.0, 5.0)
    assert long.query_overlap(short) == short.query_overlap(long) == 2.0
    assert long.overlap_of_shorter(short) == 0.5 and long.query_overlap(apart) == 0.0
    assert long.overlap_of_shorter(apart) == 0.0 and long.overlap_of_shorter(empty) == 0.0
    assert long.share_covered_by(short) == 0.2 and short.share_covered_by(long) == 0.5
    assert empty.share_covered_by(long) == 0.0 and long.share_covered_by(apart) == 0.0


def test_segment_vectors_are_normalised_means_of_each_window_half_a_window_apart():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((45, 8)).astype(np.float32)
    t = np.arange(45, dtype=np.float32) * 0.5  # intervals every 0.5 s, 2 s long: 0 .. 24 s
    prints = Fingerprints("audio", t, t + 2, vectors, "m-1")
    segments = prints.segments(10.0)
    assert segments.t_start.tolist() == [0.0, 5.0, 10.0] and segments.t_end.tolist() == [10.0, 15.0, 20.0]
    for i, start in enumerate(segments.t_start):
        mean = vectors[(t >= start) & (t < start + 10)].mean(0)
        assert np.allclose(segments.vectors[i], mean / np.linalg.norm(mean), atol=1e-6)
    assert segments.model_version == "m-1" and segments.modality == "audio"
    # a video shorter than one window still has one segment; no window keeps the intervals
    short = Fingerprints("audio", t[:6], t[:6] + 2, vectors[:6]).segments(10.0)
    assert len(short) == 1 and short.t_end[0] == 4.5
    assert prints.segments(0) is prints

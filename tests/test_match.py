"""Temporal alignment of hits into segment pairs, and fusion of modalities."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from avm.index import HITS_SCHEMA
from avm.match import MatchOptions, Segment, align_hits, fuse_modalities


def _hits(rows: list[tuple[int, str, float, float]], window: float = 2.0) -> pa.Table:
    qi, vid, rt, sim = zip(*rows)
    return pa.table({"query_index": pa.array(qi, pa.int32()), "video_id": list(vid),
                     "t_start": pa.array(rt, pa.float32()), "t_end": pa.array(np.add(rt, window), pa.float32()),
                     "similarity": pa.array(sim, pa.float32())}, schema=HITS_SCHEMA)


def _query_times(n: int, step: float = 0.5, window: float = 2.0):
    t0 = np.arange(n, dtype=np.float32) * step
    return t0, t0 + window


def test_consistent_offset_becomes_one_segment_with_offset():
    t0, t1 = _query_times(60)  # a 31.5 s query at 0.5 s steps
    # intervals starting at 10–20 s (centres 11–21 s) hit the reference 100 s later
    copied = [(i, "ref", 100.0 + round(t0[i]), 0.9) for i in range(20, 41)]
    noise = [(i, f"other{i % 3}", float(i * 7 % 50), 0.55) for i in range(60)]
    segs = align_hits("q", t0, t1, _hits(copied + noise), "audio", MatchOptions(min_similarity=0.6))
    assert len(segs) == 1
    s = segs[0]
    assert (s.query_id, s.ref_id, s.modality) == ("q", "ref", "audio")
    # the run spans from its first centre − step/2 to its last centre + step/2
    assert abs(s.query_start - 10.75) < 1e-6 and abs(s.query_end - 21.25) < 1e-6
    assert abs((s.ref_start - s.query_start) - 100) <= 0.5
    assert s.score > 0.85 and s.n_hits == 21


def test_two_segments_two_references_and_short_runs_dropped():
    t0, t1 = _query_times(120)
    rows = [(i, "a", 5.0 + t0[i], 0.8) for i in range(0, 30)]  # 0–16.5 s ↔ a at +5 s
    rows += [(i, "b", t0[i] - 20.0 + 50, 0.8) for i in range(60, 100)]  # 30–51.5 s ↔ b at +30 s
    rows += [(i, "c", 3.0 + t0[i], 0.95) for i in range(110, 113)]  # too short (1.5 s)
    segs = align_hits("q", t0, t1, _hits(rows), "visual", MatchOptions(min_duration=4.0))
    assert [s.ref_id for s in segs] == ["a", "b"]
    assert abs(segs[1].ref_start - segs[1].query_start - 30) < 0.6


def test_gap_splits_segments_at_same_offset():
    t0, t1 = _query_times(100)
    rows = [(i, "a", t0[i] + 10, 0.8) for i in list(range(0, 20)) + list(range(60, 80))]
    segs = align_hits("q", t0, t1, _hits(rows), "audio", MatchOptions(max_gap=4.0))
    assert len(segs) == 2 and segs[0].query_end < segs[1].query_start


def test_below_similarity_threshold_gives_nothing():
    t0, t1 = _query_times(40)
    rows = [(i, "a", t0[i] + 10, 0.4) for i in range(40)]
    assert align_hits("q", t0, t1, _hits(rows), "audio", MatchOptions(min_similarity=0.5)) == []


def test_fusion_merges_agreeing_modalities_only():
    audio = [Segment("q", 10, 30, "r", 110, 130, 0.8, "audio", 40)]
    visual = [Segment("q", 12, 31, "r", 112, 131, 0.7, "visual", 18),
              Segment("q", 50, 60, "r", 10, 20, 0.7, "visual", 10)]
    fused = fuse_modalities({"audio": audio, "visual": visual}, offset_tolerance=1.0)
    assert len(fused) == 2
    both = fused[0]
    assert both.modality == "audio+visual" and both.query_start == 10 and both.query_end == 31
    assert abs(both.score - (1 - 0.2 * 0.3)) < 1e-9
    assert fused[1].modality == "visual"


def test_calibrated_threshold_follows_the_impostor_distribution():
    from avm.match import calibrate

    rng = np.random.default_rng(0)
    impostors = {"audio": rng.normal(0.6, 0.05, 5000), "visual": rng.normal(0.3, 0.05, 5000), "tiny": np.ones(10)}
    opts = calibrate(MatchOptions(min_similarity=0.5, hit_quantile=0.99, min_calibration_samples=100), impostors)
    assert abs(opts["audio"].min_similarity - (0.6 + 2.326 * 0.05)) < 0.01
    assert opts["visual"].min_similarity == 0.5  # the floor wins over a low quantile
    assert opts["tiny"].min_similarity == 0.5  # too few samples: the configured value

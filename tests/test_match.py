"""Temporal alignment of hits into segment pairs, and fusion of modalities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from avm.match import (
    AlignOptions,
    CalibrationOptions,
    FuseOptions,
    MatchConfig,
    MatchOptions,
    RefineOptions,
    align_hits,
    fuse_modalities,
    line_track,
    match_segments,
    refine_segment,
)
from avm.match.align import boundary_margin, candidate_speeds
from avm.match.options import AlignOverrides
from avm.schema import HITS_SCHEMA
from avm.types import Fingerprints, Hits, Segment


def _hits(rows: list[tuple[int, str, float, float]], window: float = 2.0) -> Hits:
    qi, vid, rt, sim = zip(*rows, strict=True)
    return Hits.from_table(pa.table({
        "query_index": pa.array(qi, pa.int32()), "video_id": list(vid), "t_start": pa.array(rt, pa.float32()),
        "t_end": pa.array(np.add(rt, window), pa.float32()), "similarity": pa.array(sim, pa.float32())},
        schema=HITS_SCHEMA))


def _query_times(n: int, step: float = 0.5, window: float = 2.0):
    t0 = np.arange(n, dtype=np.float32) * step
    return t0, t0 + window


def test_consistent_offset_becomes_one_segment_with_offset():
    t0, t1 = _query_times(60)  # a 31.5 s query at 0.5 s steps
    # intervals starting at 10–20 s (centres 11–21 s) hit the reference 100 s later
    copied = [(i, "ref", 100.0 + round(t0[i]), 0.9) for i in range(20, 41)]
    noise = [(i, f"other{i % 3}", float(i * 7 % 50), 0.55) for i in range(60)]
    segs = align_hits("q", t0, t1, _hits(copied + noise), "audio", AlignOptions(min_similarity=0.6))
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
    segs = align_hits("q", t0, t1, _hits(rows), "visual", AlignOptions(min_duration=4.0))
    assert [s.ref_id for s in segs] == ["a", "b"]
    assert abs(segs[1].ref_start - segs[1].query_start - 30) < 0.6


def test_gap_splits_segments_at_same_offset():
    t0, t1 = _query_times(100)
    rows = [(i, "a", t0[i] + 10, 0.8) for i in list(range(0, 20)) + list(range(60, 80))]
    segs = align_hits("q", t0, t1, _hits(rows), "audio", AlignOptions(max_gap=4.0))
    assert len(segs) == 2 and segs[0].query_end < segs[1].query_start


def test_below_similarity_threshold_gives_nothing():
    t0, t1 = _query_times(40)
    rows = [(i, "a", t0[i] + 10, 0.4) for i in range(40)]
    assert align_hits("q", t0, t1, _hits(rows), "audio", AlignOptions(min_similarity=0.5)) == []


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
    base = MatchOptions(AlignOptions(min_similarity=0.5),
                        calibration=CalibrationOptions(hit_quantile=0.99, min_samples=100, track_quantile=0.5))
    opts = calibrate({m: base for m in impostors}, impostors)
    assert abs(opts["audio"].align.min_similarity - (0.6 + 2.326 * 0.05)) < 0.01
    assert opts["visual"].align.min_similarity == 0.5  # the floor wins over a low quantile
    assert opts["tiny"].align.min_similarity == 0.5  # too few samples: the configured value
    assert abs(opts["audio"].refine.track_similarity - 0.6) < 0.01  # the median
    # too few samples and no track floor: refinement is off; a configured floor keeps it on
    assert opts["audio"].refine.enabled and not opts["tiny"].refine.enabled
    floored = MatchOptions(refine=RefineOptions(track_similarity=0.4))
    assert calibrate({"tiny": floored}, impostors)["tiny"].refine.enabled
    off = MatchOptions(refine=RefineOptions(enabled=False))
    stays = calibrate({"audio": off}, impostors)["audio"]
    assert not stays.refine.enabled and stays.refine.track_similarity == 0.0  # no track threshold calibrated


def test_speed_changed_copy_is_one_segment_on_a_sloped_line():
    t0, t1 = _query_times(200)  # 0–99.5 s
    # query 20–80 s is the reference from 10 s played 8 % faster: ref = 1.08 · q − 11.6
    rows = [(i, "ref", round((1.08 * t0[i] - 11.6) * 2) / 2, 0.9) for i in range(40, 161)]
    opts = AlignOptions(min_speed=0.9, max_speed=1.1)
    segs = align_hits("q", t0, t1, _hits(rows), "audio", opts)
    assert len(segs) == 1
    # the aligner's speed is any on its grid that keeps every hit within ±offset_tolerance (refinement pins it down)
    assert abs(segs[0].speed - 1.08) <= 2 * opts.offset_tolerance / 60 + 0.005
    assert segs[0].query_end - segs[0].query_start > 55
    # without drift tolerance the same copy breaks into fragments along the offset bins
    plain = align_hits("q", t0, t1, _hits(rows), "audio", AlignOptions(min_speed=1.0, max_speed=1.0))
    assert len(plain) > 1


@pytest.mark.parametrize("speed", [0.76, 0.8, 1.25, 1.32])
def test_copies_played_up_to_25_percent_slower_or_33_percent_faster_stay_whole(speed):
    t0, t1 = _query_times(200)
    rows = [(i, "ref", round((speed * t0[i] + 5.0) * 2) / 2, 0.9) for i in range(20, 181)]
    segs = align_hits("q", t0, t1, _hits(rows), "audio", AlignOptions())
    assert len(segs) == 1 and abs(segs[0].speed - speed) <= 2 * AlignOptions().offset_tolerance / 80 + 0.01
    query, ref = _copy_with_speed(speed, 3.0, 10.0, 40.0)
    seed = Segment("q", 20.0, 28.0, "r", speed * 20.0 + 3.4, speed * 28.0 + 3.4, 0.9, "audio", 10, 1.0)
    opts = MatchOptions(refine=RefineOptions(track_similarity=0.5, edge_similarity=0.6, edge_fraction=0.0))
    refined = refine_segment(seed, query, ref, opts, margin=0.0)
    assert abs(refined.speed - speed) < 0.01 and abs(refined.query_start - 10.0) <= 0.5


def test_speed_grid_tries_the_plain_copy_first():
    speeds = candidate_speeds(AlignOptions(min_speed=0.75, max_speed=1.33, speed_step=0.05))
    assert speeds[0] == 1.0 and np.isclose(speeds.min(), 0.75) and np.isclose(speeds.max(), 1.33)
    ratios = np.diff(np.log(np.sort(speeds)))
    assert ratios.max() <= np.log1p(0.05) + 1e-12 and ratios.min() > 0  # no step longer than 5 %, no repeats
    assert np.all(np.diff(np.abs(np.log(speeds))) >= -1e-12)  # nearest to 1 first
    assert list(candidate_speeds(AlignOptions(min_speed=1.0, max_speed=1.0))) == [1.0]


def test_boundary_margin_follows_how_much_of_a_window_must_be_copied():
    t0, t1 = _query_times(10, step=0.5, window=1.0)
    assert abs(boundary_margin(t0, t1, window_overlap=0.5) - 0.25) < 1e-9  # (window − step) / 2
    assert abs(boundary_margin(t0, t1, window_overlap=1.0) + 0.25) < 1e-9  # whole windows: edges lie inside


def _unit(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    v = rng.normal(size=(n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _copy_with_speed(speed: float, offset: float, copy_from: float, copy_to: float, seed: int = 0):
    """A reference (0–120 s) and a query (0–60 s) whose [copy_from, copy_to] is the reference along
    ``ref = speed · q + offset`` with noise, elsewhere unrelated content; 1 s windows at 0.5 s steps, each
    the normalised sum of a 0.25 s random signal over its window (so overlapping windows are alike)."""
    rng = np.random.default_rng(seed)
    signal = _unit(rng, 4 * 140)  # the reference's content, 0.25 s per row

    def window_at(t: np.ndarray) -> np.ndarray:
        first = np.clip(np.round(t * 4).astype(int), 0, len(signal) - 4)
        v = sum(signal[first + k] for k in range(4))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    r_t = np.arange(0, 120, 0.5)
    ref = Fingerprints("audio", r_t, r_t + 1.0, window_at(r_t))
    q_t = np.arange(0, 60, 0.5)
    vectors = _unit(rng, len(q_t))
    inside = (q_t >= copy_from) & (q_t <= copy_to)
    noisy = window_at(speed * q_t[inside] + offset) + 0.3 * _unit(rng, int(inside.sum()))
    vectors[inside] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return Fingerprints("audio", q_t, q_t + 1.0, vectors), ref


def test_line_track_is_high_on_the_copy_only():
    query, ref = _copy_with_speed(1.05, 20.0, 10.0, 40.0)
    track = line_track(query, ref, 1.05, 20.0)
    inside = (query.t_start >= 10) & (query.t_start <= 40)
    # a query window between two reference windows scores less than one on a reference window
    assert np.median(track[inside]) > 0.8 and track[inside].min() > 0.55
    assert np.quantile(track[~inside], 0.95) < 0.45


def test_refinement_fits_the_speed_and_grows_a_fragment_to_the_whole_copy():
    query, ref = _copy_with_speed(1.05, 20.0, 10.0, 40.0)
    # the aligner saw only 20–28 s, at speed 1 and an offset close to the line's there
    seed = Segment("q", 20.0, 28.0, "r", 20.0 + 21.2, 28.0 + 21.2, 0.9, "audio", 10, 1.0)
    opts = MatchOptions(AlignOptions(min_speed=0.9, max_speed=1.1, speed_step=0.005),
                        RefineOptions(track_similarity=0.5, edge_similarity=0.6, edge_fraction=0.0))
    refined = refine_segment(seed, query, ref, opts, margin=0.0)
    assert abs(refined.speed - 1.05) < 0.011
    assert abs(refined.query_start - 10.0) <= 0.5 and abs(refined.query_end - 41.0) <= 0.5
    assert abs(refined.ref_start - (1.05 * refined.query_start + 20.0)) < 0.6


def test_match_segments_merges_fragments_of_one_copy_by_refinement():
    query, ref = _copy_with_speed(1.0, 30.0, 5.0, 55.0, seed=1)
    # k-NN hits only at 5–15 s and 40–55 s (the middle of the copy was too degraded for the index)
    rows = [(i, "r", float(query.t_start[i] + 30.0), 0.9) for i in range(len(query.t_start))
            if 5 <= query.t_start[i] <= 15 or 40 <= query.t_start[i] <= 55]
    hits = _hits(rows, window=1.0)
    opts = {"audio": MatchOptions(AlignOptions(max_gap=4.0),
                                  RefineOptions(track_similarity=0.5, edge_similarity=0.6, edge_fraction=0.0))}
    without = match_segments("q", {"audio": query}, {"audio": hits}, opts)
    assert len(without) == 2
    refined = match_segments("q", {"audio": query}, {"audio": hits}, opts,
                             references=lambda modality, ref_id: ref if ref_id == "r" else None)
    assert len(refined) == 1 and refined[0].query_start <= 5.5 and refined[0].query_end >= 55.0
    # with refinement off the references are not used
    off = {"audio": MatchOptions(opts["audio"].align, RefineOptions(enabled=False))}
    assert match_segments("q", {"audio": query}, {"audio": hits}, off,
                          references=lambda modality, ref_id: ref if ref_id == "r" else None) == without


def test_recurring_content_cannot_make_a_pair_by_itself():
    t0, t1 = _query_times(60)
    # a jingle at 5–20 s of the query is in five references; the copy at 22–29 s is in one
    rows = [(i, f"ref{j}", 40.0 + t0[i], 0.95) for i in range(10, 40) for j in range(5)]
    rows += [(i, "copied", t0[i] + 100.0, 0.9) for i in range(44, 58)]
    found = align_hits("q", t0, t1, _hits(rows), "audio", AlignOptions(recurring_references=4))
    assert [s.ref_id for s in found] == ["copied"]
    everything = align_hits("q", t0, t1, _hits(rows), "audio", AlignOptions(recurring_references=0))
    assert {s.ref_id for s in everything} == {"copied", "ref0", "ref1", "ref2", "ref3", "ref4"}


def test_decision_threshold_lets_through_the_stated_rate_of_null_segments():
    from avm.match import decision_threshold

    null = np.array([0.95, 0.9, 0.8, 0.7])
    # 10 h of null queries at 0.1 per hour: one null segment may pass, the second-best must not
    threshold = decision_threshold(null, 10.0, 0.1, floor=0.0)
    assert 0.9 < threshold <= 0.9 + 1e-9 and (null >= threshold).sum() == 1
    assert decision_threshold(null, 1.0, 0.1, floor=0.0) > 0.95  # none may pass
    assert decision_threshold(null, 100.0, 0.1, floor=0.3) == 0.3  # ten may: the floor stays
    assert decision_threshold(np.zeros(0), 0.0, 0.1, floor=0.2) == 0.2  # no null queries


def test_fusion_keeps_the_stronger_of_contradicting_modalities():
    audio = [Segment("q", 10, 40, "r", 110, 140, 0.9, "audio", 50)]
    # the same query time paired with the same reference 30 s earlier: both cannot be right
    visual = [Segment("q", 12, 30, "r", 82, 100, 0.8, "visual", 15)]
    assert fuse_modalities({"audio": audio, "visual": visual}, offset_tolerance=1.0) == audio
    # a different reference at the same time is another copy, kept
    other = [Segment("q", 12, 30, "r2", 82, 100, 0.8, "visual", 15)]
    assert len(fuse_modalities({"audio": audio, "visual": other}, offset_tolerance=1.0)) == 2
    # segments contradict only when they overlap by more than conflict_overlap of the shorter
    tolerant = FuseOptions(conflict_overlap=1.0)
    assert len(fuse_modalities({"audio": audio, "visual": visual}, offset_tolerance=1.0, opts=tolerant)) == 2


def test_fusion_lets_the_line_both_modalities_follow_win_a_contradiction():
    # a picture that repeats in the reference: the visual hits chose its earlier showing (offset 70, and the
    # stronger segment), the audio the right one (offset 100), and only the audio line is followed by both
    audio = [Segment("q", 12, 30, "r", 112, 130, 0.8, "audio", 30)]
    visual = [Segment("q", 0, 60, "r", 70, 130, 0.99, "visual", 60)]

    def support(seg: Segment, start: float, end: float) -> float:
        return {100.0: 2.0, 70.0: 1.0}[round(seg.offset, 6)]  # both modalities vs the picture only

    fused = fuse_modalities({"audio": audio, "visual": visual}, offset_tolerance=1.0, support=support,
                            min_duration=4.0)
    assert [(s.modality, s.query_start, s.query_end, s.offset) for s in fused] == [
        ("visual", 0, 12, 70.0), ("audio", 12, 30, 100.0), ("visual", 30, 60, 70.0)]
    # without the support the stronger visual segment takes the contested time and the audio copy is lost
    assert fuse_modalities({"audio": audio, "visual": visual}, offset_tolerance=1.0) == visual
    # nor when the support differs by less than the margin
    assert fuse_modalities({"audio": audio, "visual": visual}, offset_tolerance=1.0, support=support,
                           opts=FuseOptions(support_margin=1.5)) == visual


def test_line_support_is_the_share_of_the_span_that_follows_the_line():
    from avm.match.refine import line_support

    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=2)
    right = Segment("q", 10, 40, "r", 40, 70, 0.9, "audio", 50)
    wrong = Segment("q", 10, 40, "r", 80, 110, 0.9, "audio", 50)
    assert line_support(right, 10, 40, query, ref, threshold=0.5) > 0.9
    assert line_support(wrong, 10, 40, query, ref, threshold=0.5) < 0.1
    assert line_support(right, 100, 110, query, ref, threshold=0.5) == 0.0  # no interval in the span


def test_edge_level_relative_to_the_copy_keeps_half_copied_windows_out():
    # a clean copy of 10–40 s: windows that straddle its ends are partly copied and still score well above
    # unrelated ones, so an absolute edge threshold lets the segment spill past the copy
    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=3)
    seed = Segment("q", 15.0, 35.0, "r", 45.0, 65.0, 0.9, "audio", 30, 1.0)
    loose = MatchOptions(refine=RefineOptions(track_similarity=0.2, edge_similarity=0.2, edge_fraction=0.0))
    relative = MatchOptions(refine=RefineOptions(track_similarity=0.2, edge_similarity=0.2, edge_fraction=0.5))
    spilled = refine_segment(seed, query, ref, loose, margin=0.0)
    fitted = refine_segment(seed, query, ref, relative, margin=0.0)
    assert spilled.query_end - spilled.query_start > fitted.query_end - fitted.query_start
    assert abs(fitted.query_start - 10.0) <= 0.5 and abs(fitted.query_end - 41.0) <= 0.5


def test_per_modality_merges_overrides_over_the_shared_settings():
    config = MatchConfig(align=AlignOptions(max_gap=3.0), refine=RefineOptions(edge_fraction=0.25))
    config.modality.audio.align.min_hits = 5
    config.modality.audio.calibration.hit_quantile = 0.8
    opts = config.per_modality(["audio", "visual"])
    audio, visual = opts["audio"], opts["visual"]
    assert (audio.align.max_gap, audio.align.min_hits, audio.calibration.hit_quantile) == (3.0, 5, 0.8)
    assert audio.refine.edge_fraction == visual.refine.edge_fraction == 0.25
    assert visual.align == AlignOptions(max_gap=3.0) and visual.calibration == CalibrationOptions()
    audio.align.max_gap = 9.0  # every modality owns its options
    assert visual.align.max_gap == config.align.max_gap == 3.0
    assert set(config.per_modality(("visual",))) == {"visual"}


def test_per_modality_overrides_are_typed_and_modalities_known():
    with pytest.raises(TypeError, match="min_simlarity"):
        AlignOverrides(min_simlarity=0.3)
    with pytest.raises(ValueError, match="vidio"):
        MatchConfig().per_modality(["vidio"])


def test_calibration_round_trips_through_json():
    from avm.match import Calibration

    config = MatchConfig()
    config.modality.audio.refine.enabled = False
    opts = config.per_modality(["audio", "visual"])
    calibration = Calibration(opts, 1.5, {"audio": 4}, {"audio": 1}, {"audio": 200, "visual": 300})
    again = Calibration.from_json(calibration.to_json())
    assert again == calibration and isinstance(again.options["audio"].refine, RefineOptions)
    assert again.lines() == calibration.lines()


def test_match_query_finds_a_stored_copy_and_its_segments_round_trip(tmp_path, monkeypatch):
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, knn, store_videos
    from avm.match import calibrate_catalog, match_query, reference_lookup, stored_fingerprints

    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=4)
    _, other = _copy_with_speed(1.0, 0.0, 0.0, 0.0, seed=5)
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {"r": {"audio": ref}, "other": {"audio": other}}, durations={"r": 120.0, "other": 120.0})
    stored = stored_fingerprints(store, "audio", "r")
    assert stored.modality == "audio" and np.allclose(stored.vectors, ref.vectors, atol=1e-3)
    assert stored_fingerprints(store, "audio", "missing") is None
    hits = knn(store, "audio", query.vectors, k=3, exclude_video_id="other")
    assert isinstance(hits, Hits) and set(hits.video_id) == {"r"} and hits.query_index.dtype == np.int32
    again = Hits.from_table(hits.to_table())
    assert all(np.array_equal(getattr(again, f), getattr(hits, f)) for f in HITS_SCHEMA.names)
    opts = {"audio": MatchOptions(AlignOptions(min_similarity=0.6))}
    found = match_query(store, "q", {"audio": query}, SearchOptions(k=3), opts, reference_lookup(store, size=4))
    assert [(s.ref_id, s.modality) for s in found] == [("r", "audio")]
    assert abs(found[0].offset - 30.0) < 0.6 and abs(found[0].query_start - 10.0) <= 1.0
    assert Segment.from_table(Segment.to_table(found, "run")) == found
    # the catalog's calibration is computed once per catalog state and settings, then read back
    calibrated = calibrate_catalog(store, opts, SearchOptions(k=3))
    assert calibrated.null_hours == 240.0 / 3600 and calibrated.impostor_samples == {"audio": 480}

    def not_again(*args, **kwargs):
        raise AssertionError("calibrated twice")

    monkeypatch.setattr("avm.match.calibration.impostor_similarities", not_again)
    assert calibrate_catalog(store, opts, SearchOptions(k=3)) == calibrated


def test_stride_of_follows_the_interval_step():
    from avm.match.cascade import sparse_options, stride_of

    t = np.arange(0, 30, 0.5)
    assert stride_of(t, 0.0) == 1 and stride_of(t, 0.5) == 1 and stride_of(t, 2.0) == 4 and stride_of(t, 1.2) == 2
    assert stride_of(np.arange(0, 30, 1.0), 2.0) == 2 and stride_of(t[:1], 2.0) == 1
    opts = MatchOptions(AlignOptions(min_hits=5))
    assert sparse_options(opts, 1) is opts
    assert sparse_options(opts, 2).align.min_hits == 3 and sparse_options(opts, 4).align.min_hits == 2


def test_sparse_first_stage_finds_the_copy_with_full_resolution_boundaries(tmp_path):
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos
    from avm.match import match_query, reference_lookup
    from avm.match.cascade import first_stage_hits

    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=4)
    _, other = _copy_with_speed(1.0, 0.0, 0.0, 0.0, seed=5)
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {"r": {"audio": ref}, "other": {"audio": other}}, durations={"r": 120.0, "other": 120.0})
    sparse = SearchOptions(k=3, first_stage_step=2.0)
    hits, stride = first_stage_hits(store, "audio", query, sparse)
    assert stride == 4 and set(np.unique(hits.query_index)) <= set(range(0, len(query), 4))
    assert len(np.unique(hits.query_index)) == len(range(0, len(query), 4))
    opts = {"audio": MatchOptions(AlignOptions(min_similarity=0.6))}
    lookup = reference_lookup(store, size=4)
    dense = match_query(store, "q", {"audio": query}, SearchOptions(k=3), opts, lookup)
    found = match_query(store, "q", {"audio": query}, sparse, opts, lookup)
    assert [(s.ref_id, s.modality) for s in found] == [("r", "audio")] == [(s.ref_id, s.modality) for s in dense]
    # refinement sets the boundaries from every interval, so the sparse search ends where the dense one does
    assert abs(found[0].query_start - dense[0].query_start) <= 0.5 and abs(found[0].query_end - dense[0].query_end) <= 0.5
    assert abs(found[0].offset - 30.0) < 0.6


def test_a_compilation_of_many_references_keeps_each_one_in_the_shortlist(tmp_path):
    """Votes are counted per ``search.shortlist_window``: a query made of pieces of eight references keeps all eight
    with R = 2, where one count over the whole query keeps only two of them. (The last window holds only r7: its
    second place goes to a reference that is merely near.)"""
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos
    from avm.match.cascade import shortlist

    rng = np.random.default_rng(7)
    t = np.arange(0, 120, 0.5, dtype=np.float32)

    def unit(n: int) -> np.ndarray:
        v = rng.standard_normal((n, 16)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    refs = {f"r{i}": Fingerprints("audio", t, t + 1.0, unit(len(t)), "m") for i in range(10)}
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {v: {"audio": fp} for v, fp in refs.items()}, durations={v: 120.0 for v in refs})
    # 40 s of r0, r1, ... r7 one after the other, each taken from 17 s into its reference
    pieces = [refs[f"r{i}"].vectors[34:114] for i in range(8)]
    q = np.arange(0, 320, 0.5, dtype=np.float32)
    query = {"audio": Fingerprints("audio", q, q + 1.0, np.concatenate(pieces), "m")}
    per_window = shortlist(store, query, SearchOptions(shortlist=2, shortlist_window=60.0)).references
    whole = shortlist(store, query, SearchOptions(shortlist=2, shortlist_window=0.0)).references
    assert set(per_window) >= {f"r{i}" for i in range(8)} and len(per_window) <= 9
    assert len(whole) == 2 and set(whole) < set(per_window)


def test_references_holding_the_same_content_are_all_shortlisted(tmp_path):
    """Each query segment votes for every reference among its nearest stored segments: a copy of content that
    three references hold shortlists all three and no other. With ``search.shortlist_neighbours`` = 1 (each
    segment votes for its nearest only), the holder that is never the nearest is lost."""
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos
    from avm.match.cascade import shortlist

    rng = np.random.default_rng(11)
    t = np.arange(0, 120, 0.5, dtype=np.float32)

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    original = unit(rng.standard_normal((len(t), 16)))
    refs = {f"other{i}": unit(rng.standard_normal((len(t), 16))) for i in range(12)}
    refs |= {"film": original, "same_film": unit(original + 0.02 * rng.standard_normal(original.shape)),
             "film_again": unit(original + 0.2 * rng.standard_normal(original.shape))}
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {v: {"audio": Fingerprints("audio", t, t + 1.0, x, "m")} for v, x in refs.items()},
                 durations={v: 120.0 for v in refs})
    copied = unit(original[40:120] + 0.1 * rng.standard_normal((80, 16)))  # 40 s from 20 s into the film
    query = {"audio": Fingerprints("audio", t[:80], t[:80] + 1.0, copied, "m")}
    assert shortlist(store, query, SearchOptions(shortlist=3)).references == ["film", "film_again", "same_film"]
    assert "film_again" not in shortlist(store, query, SearchOptions(shortlist=3, shortlist_neighbours=1)).references


def test_query_stretches_whose_nearest_content_is_shared_are_not_searched_among_the_shortlist(tmp_path):
    """A query holding a series' intro, which four catalog videos share, then content the catalog lacks: its
    segments that find the intro nearest do not vote, and the intervals only they hold are muted (searched among a
    few references they would find those references' unrelated content; the whole catalog finds the shared intro,
    whose hits the matcher drops). Without shared content known, nothing is muted."""
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos
    from avm.match import SharedContent
    from avm.match.cascade import shortlist, shortlisted_hits

    rng = np.random.default_rng(5)
    t = np.arange(0, 60, 0.5, dtype=np.float32)

    def unit(n: int) -> np.ndarray:
        v = rng.standard_normal((n, 16)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    intro = unit(20)  # 10 s
    refs = {f"episode{i}": np.concatenate([intro, unit(len(t) - 20)]) for i in range(4)}
    refs |= {f"other{i}": unit(len(t)) for i in range(4)}
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {v: {"audio": Fingerprints("audio", t, t + 1.0, x, "m")} for v, x in refs.items()},
                 durations={v: 60.0 for v in refs})
    shared = SharedContent({"audio": {f"episode{i}": [(0.0, 10.0, 3)] for i in range(4)}})
    q = t[:60]  # 30 s: the intro, then 20 s the catalog lacks
    query = {"audio": Fingerprints("audio", q, q + 1.0, np.concatenate([intro, unit(40)]), "m")}
    options = SearchOptions(shortlist=3)
    chosen = shortlist(store, query, options, shared=shared, shared_min_videos={"audio": 3})
    assert np.array_equal(chosen.muted["audio"], q < 10)
    hits, _ = shortlisted_hits(query["audio"], [f"episode{i}" for i in range(4)],
                               lambda m, v: Fingerprints("audio", t, t + 1.0, refs[v], "m"), options,
                               chosen.muted["audio"])
    assert len(hits) and q[hits.query_index].min() >= 10
    assert not shortlist(store, query, options).muted["audio"].any()


def test_a_short_copy_is_not_outvoted_by_references_merely_near_the_rest_of_its_window():
    """A segment's vote for a reference counts how far it stands above the segment's last hit: one copied segment
    (0.92 against a background of 0.79) outweighs junk references that each appear, barely above their segment's
    background, among the hits of every other segment of the window."""
    from avm.match.cascade import most_voted

    rng = np.random.default_rng(3)
    junk = [f"junk{i}" for i in range(6)]
    rows = []
    for segment in range(8):
        if segment == 4:
            rows += [(segment, "copy", 0.92)] + [(segment, j, 0.79) for j in junk[:3]]
        else:
            rows += [(segment, j, float(s)) for j, s in zip(junk, 0.86 + 0.02 * rng.random(len(junk)), strict=True)]
    segments, videos, similarities = zip(*rows, strict=True)
    hits = Hits(np.array(segments, np.int32), np.array(videos, dtype=object), np.zeros(len(rows), np.float32),
                np.ones(len(rows), np.float32), np.array(similarities, np.float32))
    times = np.arange(8) * 5.0
    assert "copy" in most_voted(hits, times, 3, 60.0)
    assert len(most_voted(hits, times, 3, 60.0)) == 3


def test_a_pair_found_among_a_shortlist_is_kept_only_where_the_whole_catalog_supports_it(tmp_path):
    """A copy's reference stretch is among the catalog-wide nearest of most of its query intervals; a chance pair
    (query content the catalog lacks lined up with some stretch of a reference, as refinement among a few references
    can make one) or the right query stretch paired with the wrong reference is not, and is dropped. The check runs
    on each modality's pairs before fusion, in any of the query's modalities."""
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos
    from avm.match import match_query, reference_lookup
    from avm.match.cascade import CatalogCheck

    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=4)
    picture, ref_picture = (dataclasses.replace(fp, modality="visual")
                            for fp in _copy_with_speed(1.0, 0.0, 0.0, 0.0, seed=9))
    others = {f"other{i}": _copy_with_speed(1.0, 0.0, 0.0, 0.0, seed=10 + i)[1] for i in range(4)}
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {"r": {"audio": ref, "visual": ref_picture}}
                 | {v: {"audio": fp, "visual": dataclasses.replace(fp, modality="visual")} for v, fp in others.items()},
                 durations={v: 120.0 for v in ["r", *others]})
    copy = Segment("q", 10.0, 40.0, "r", 40.0, 70.0, modality="audio")
    chance = Segment("q", 45.0, 58.0, "r", 90.0, 103.0, modality="audio")
    wrong_reference = Segment("q", 10.0, 40.0, "other0", 40.0, 70.0, modality="audio")
    pairs = [copy, chance, wrong_reference]
    audio_only = CatalogCheck.of(store, {"audio": query}, SearchOptions(shortlist_support_k=3))
    support = audio_only.support(pairs, tolerance=1.0)
    assert support[0] >= 0.9 and support[1] <= 0.3 and support[2] == 0.0
    assert audio_only({"audio": pairs}, 1.0) == {"audio": [copy]}
    unchecked = CatalogCheck.of(store, {"audio": query}, SearchOptions(shortlist_support_k=3, shortlist_support=0.0))
    assert unchecked({"audio": pairs}, 1.0) == {"audio": pairs}
    # a picture pair on the copy's stretch holds up by the soundtrack; one on a chance stretch does not
    both = CatalogCheck.of(store, {"audio": query, "visual": picture}, SearchOptions(shortlist_support_k=3))
    seen = dataclasses.replace(copy, modality="visual")
    seen_by_chance = dataclasses.replace(chance, modality="visual")
    assert both({"audio": [], "visual": [seen, seen_by_chance]}, 1.0) == {"audio": [], "visual": [seen]}
    # checked before fusion, a stronger chance picture pair no longer wins the copy's query time from the soundtrack
    copy_scored = dataclasses.replace(copy, score=0.8, n_hits=40)
    rival = Segment("q", 10.0, 40.0, "r", 90.0, 120.0, score=0.99, modality="visual", n_hits=60)
    assert fuse_modalities({"audio": [copy_scored], "visual": [rival]}, 1.0, min_duration=1.0) == [rival]
    assert fuse_modalities(both({"audio": [copy_scored], "visual": [rival]}, 1.0), 1.0, min_duration=1.0) == [copy_scored]
    # a pair with no query interval in its span is kept
    beyond = Segment("q", 70.0, 90.0, "r", 40.0, 60.0, modality="audio")
    assert audio_only({"audio": [beyond]}, 1.0) == {"audio": [beyond]}
    # the match_query call site checks what the shortlist found
    opts = {"audio": MatchOptions(AlignOptions(min_similarity=0.6))}
    lookup = reference_lookup(store, size=8)
    for support_needed, expected in ((0.6, [("r", "audio")]), (1.01, [])):
        search = SearchOptions(k=3, shortlist=2, shortlist_support_k=3, shortlist_support=support_needed)
        found = match_query(store, "q", {"audio": query}, search, opts, lookup, shortlisted=True)
        assert [(s.ref_id, s.modality) for s in found] == expected


def test_a_pair_covered_by_the_same_copy_in_the_other_modality_is_not_searched_again(tmp_path, monkeypatch):
    """A picture pair that is the same copy as an already supported soundtrack pair, and lies within it, is kept
    without a search of its own; one that runs far past it is searched over its own span."""
    import avm.match.cascade as cascade
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos

    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=4)
    picture = dataclasses.replace(query, modality="visual")
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {"r": {"audio": ref, "visual": dataclasses.replace(ref, modality="visual")}},
                 durations={"r": 120.0})
    searched: list[int] = []

    def counted_knn(*args, **kwargs):
        searched.append(len(args[2]))
        return knn(*args, **kwargs)

    knn = cascade.knn
    monkeypatch.setattr(cascade, "knn", counted_knn)
    check = cascade.CatalogCheck.of(store, {"audio": query, "visual": picture}, SearchOptions(shortlist_support_k=3))
    sound = Segment("q", 10.0, 40.0, "r", 40.0, 70.0, modality="audio")
    within = Segment("q", 11.0, 39.0, "r", 41.0, 69.0, modality="visual")
    assert check({"audio": [sound], "visual": [within]}, 1.0) == {"audio": [sound], "visual": [within]}
    assert searched == [16]
    searched.clear()
    further = Segment("q", 10.0, 58.0, "r", 40.0, 88.0, modality="visual")
    check({"audio": [sound], "visual": [further]}, 1.0)
    assert searched == [16, 16]


def test_intervals_in_shared_content_do_not_count_against_a_shortlisted_pair(tmp_path):
    """Where the copied stretch of a reference is content other catalog videos hold too (an intro), its query
    intervals' nearest are those videos: once the catalog knows that content is shared, those intervals tell
    nothing about the pair and are left out of its share, which the rest of the copy then carries."""
    from avm.index import FingerprintStore, IndexOptions, SearchOptions, store_videos
    from avm.match import SharedContent
    from avm.match.cascade import CatalogCheck

    query, ref = _copy_with_speed(1.0, 30.0, 10.0, 40.0, seed=4)
    others = {f"other{i}": _copy_with_speed(1.0, 0.0, 0.0, 0.0, seed=10 + i)[1] for i in range(4)}
    intro = (query.t_start >= 10.0) & (query.t_start < 25.0)
    for fp in others.values():  # each other video holds the query's first 15 s of the copy at 40-55 s, nearer than r
        fp.vectors[(fp.t_start >= 40.0) & (fp.t_start < 55.0)] = query.vectors[intro]
    store = FingerprintStore(IndexOptions(uri=str(tmp_path / "db")))
    store_videos(store, {"r": {"audio": ref}} | {v: {"audio": fp} for v, fp in others.items()},
                 durations={v: 120.0 for v in ["r", *others]})
    copy = Segment("q", 10.0, 40.0, "r", 40.0, 70.0, modality="audio")
    search = SearchOptions(shortlist_support_k=3)
    unaware = CatalogCheck.of(store, {"audio": query}, search)
    assert unaware.support([copy], 1.0)[0] < search.shortlist_support
    shared = SharedContent({"audio": {v: [(40.0, 55.0, 4)] for v in ["r", *others]}})
    aware = CatalogCheck.of(store, {"audio": query}, search, shared=shared)
    assert aware.support([copy], 1.0)[0] >= 0.9
    assert aware({"audio": [copy]}, 1.0) == {"audio": [copy]}
    # a pair made only of shared content is not a copy
    intro_only = Segment("q", 10.0, 25.0, "r", 40.0, 55.0, modality="audio")
    assert aware.support([intro_only], 1.0)[0] == 0.0 and aware({"audio": [intro_only]}, 1.0) == {"audio": []}

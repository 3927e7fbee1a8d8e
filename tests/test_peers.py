"""The peers (benchmarks/peers) on generated clips: an exact 10 s excerpt of a reference is found at the right
offset by each, an unrelated query yields nothing, and the output is scored by AVM's evaluator.

Skipped unless the peer's tool is installed (benchmarks/peers/install.sh): fpcalc for Chromaprint, pdqhash for PDQ.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import ffmpeg
import pytest

from avm.evaluate import evaluate, read_ground_truth_csv
from avm.media import ffmpeg_exe

from conftest import DEMO_MEDIA, REPO, make_clip

sys.path.insert(0, str(REPO / "benchmarks" / "peers"))
import run_peers  # noqa: E402

EXCERPT = (12.0, 22.0)  # seconds of the reference copied into the query…
PLACED_AT = 5.0  # …at this time of the query


def _require(peer: str) -> None:
    if peer == "chromaprint" and shutil.which("fpcalc") is None:
        pytest.skip("fpcalc is not installed (benchmarks/peers/install.sh)")
    if peer == "pdq":
        pytest.importorskip("pdqhash")


def _concat(out: Path, parts: list[Path]) -> Path:
    """Join clips (same size, frame rate and audio rate) end to end."""
    streams = []
    for part in parts:
        clip = ffmpeg.input(str(part))
        streams += [clip["v:0"], clip["a:0"].filter("aresample", 48000)]
    joined = ffmpeg.concat(*streams, v=1, a=1).node
    (ffmpeg.output(joined[0], joined[1], str(out), vcodec="libx264", preset="veryfast", crf=23, acodec="aac",
                   audio_bitrate="128k").overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    return out


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """refs.csv (one 30 s reference), queries.csv (a copy of 10 s of it inside filler, an unrelated clip) and
    ground_truth.csv, laid out as a built benchmark."""
    d = tmp_path_factory.mktemp("peers_bench")
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    footage = DEMO_MEDIA / "footage"
    ref = make_clip(d / "ref.mp4", video=footage / "big_buck_bunny_0_30.webm", audio=music[0], duration=30,
                    audio_start=20)
    excerpt = d / "excerpt.mp4"
    (ffmpeg.input(str(ref), ss=EXCERPT[0], t=EXCERPT[1] - EXCERPT[0])
     .output(str(excerpt), vcodec="libx264", preset="veryfast", crf=23, acodec="aac", audio_bitrate="128k")
     .overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    before = make_clip(d / "before.mp4", video=footage / "bottle-detection.mp4", audio=music[1], duration=PLACED_AT)
    after = make_clip(d / "after.mp4", video=footage / "toy-monster.mp4", audio=music[2], duration=6)
    _concat(d / "copy.mp4", [before, excerpt, after])
    make_clip(d / "unrelated.mp4", video=footage / "bottle-detection.mp4", audio=music[3], duration=20,
              audio_start=30)
    (d / "refs.csv").write_text(f"uri,video_id\n{ref},ref\n")
    (d / "queries.csv").write_text(f"uri,video_id\n{d / 'copy.mp4'},copy\n{d / 'unrelated.mp4'},unrelated\n")
    end = PLACED_AT + EXCERPT[1] - EXCERPT[0]
    (d / "ground_truth.csv").write_text("ID_piracy,segment,ID_license,segment.1\n"
                                        f"copy,{PLACED_AT:.0f}-{end:.0f},ref,{EXCERPT[0]:.0f}-{EXCERPT[1]:.0f}\n")
    return d


@pytest.mark.parametrize("peer", ["chromaprint", "pdq"])
def test_peer_finds_the_excerpt_and_nothing_in_unrelated_media(peer: str, bench: Path, tmp_path: Path) -> None:
    _require(peer)
    ran = run_peers.run_peer(peer, bench, tmp_path / peer, workers=2)
    assert ran is not None
    pred, seconds = ran
    assert (tmp_path / peer / "matches.parquet").exists() and seconds > 0
    assert {s.query_id for s in pred} == {"copy"}, pred  # nothing for the unrelated query
    best = sorted(pred, key=lambda s: s.score)[-1]
    assert best.ref_id == "ref"
    assert abs((best.ref_start - best.query_start) - (EXCERPT[0] - PLACED_AT)) <= 1.0, best
    assert abs(best.query_start - PLACED_AT) <= 2.0 and abs(best.query_end - (PLACED_AT + 10)) <= 2.0, best
    metrics = evaluate(pred, read_ground_truth_csv(bench / "ground_truth.csv"))
    assert metrics["tp"] == 1 and metrics["iou"] > 0.6, metrics


def test_missing_tool_is_skipped_not_failed(bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs, _, make = run_peers.PEERS["chromaprint"]
    monkeypatch.setitem(run_peers.PEERS, "chromaprint", (needs, lambda: False, make))
    assert run_peers.run_peer("chromaprint", bench, tmp_path) is None
    assert not (tmp_path / "matches.parquet").exists()

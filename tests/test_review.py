"""The review page in a real browser (Debian's Chromium driven by Playwright) over a real catalog and a real scan:
players seeked and kept in step, verdicts stored and read back, an upload matched, media served only when
registered. ``AVM_SCREENSHOTS=<folder>`` also saves the screenshots the README shows there."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray

from avm.index import FingerprintStore, IndexOptions, add_verdict, read_verdicts, verdict_rows
from avm.manifest import read_inputs
from avm.match import Calibration, verdict_lines
from avm.pipeline import IngestConfig, ScanConfig
from avm.pipeline.runner import ingest, scan
from avm.results import write_matches
from avm.review import ReviewConfig
from avm.types import VERDICTS, Segment, Verdict

from conftest import DEMO_MEDIA, ReviewServer, job_config, make_clip, pirate_copy

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PIECES = {"ref_a": (5.0, 14.0), "ref_b": (8.0, 12.0)}  # reference → (start, length) borrowed by the query
SECOND_PIECE_AT = 6 + 14 + 6  # where the query's copy of ref_b starts


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReviewConfig, str, Path]]:
    """Two references ingested, a query borrowing from both scanned; the review config over them, the run id and
    the media folder."""
    d = tmp_path_factory.mktemp("review")
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    footage = DEMO_MEDIA / "footage"
    refs = d / "refs"
    refs.mkdir()
    make_clip(refs / "ref_a.mp4", video=footage / "bottle-detection.mp4", audio=music[0], duration=30)
    make_clip(refs / "ref_b.mp4", video=footage / "toy-monster.mp4", audio=music[1], duration=30)
    query = pirate_copy(d / "query.mp4", [(refs / f"{ref}.mp4", *span) for ref, span in PIECES.items()],
                        sorted((DEMO_MEDIA / "photos").glob("*.jpg"))[0], music[-1])
    make_clip(d / "upload.mp4", video=footage / "toy-monster.mp4", audio=music[1], duration=14)  # ref_b, 0–14 s
    out = d / "out"
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        ingest(job_config("ingest", IngestConfig, out, input=str(refs)), read_inputs(str(refs)))
        result = scan(job_config("scan", ScanConfig, out, queries=str(query), output_dir=str(out / "scan")),
                      read_inputs(str(query)))
    finally:
        ray.shutdown()
    assert {s.ref_id for s in result.segments} >= set(PIECES), result.segments
    yield job_config("review", ReviewConfig, out), result.run_id, d


@pytest.fixture(scope="module")
def server(reviewed) -> Iterator[ReviewServer]:
    cfg, _, _ = reviewed
    with ReviewServer(cfg) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make install` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, errors


def screenshot(page, name: str, tmp_path: Path) -> None:
    page.wait_for_function("[...document.querySelectorAll('video')].every((v) => v.readyState >= 2)")
    page.screenshot(path=str(tmp_path / name), full_page=True)
    folder = os.environ.get("AVM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(folder) / name)


def player_times(page) -> tuple[float, float]:
    return tuple(page.evaluate("[document.getElementById('query-video').currentTime,"
                               " document.getElementById('ref-video').currentTime]"))


def shown_pairs(page) -> list[dict]:
    run = page.evaluate("state.run")
    query = page.evaluate("state.query")
    return json.loads(urllib.request.urlopen(f"{page.url.split('#')[0]}api/runs/{run}/queries/{query}").read())["pairs"]


def open_query(page, server: ReviewServer, query_id: str) -> None:
    page.goto(server.url)
    page.locator(f'#queries li[data-query="{query_id}"]').click()
    page.wait_for_function(f"(document.body.dataset.pairReady || '').includes('/{query_id}/')")


def test_the_players_start_at_the_segment_and_play_in_step(page, server, reviewed, tmp_path):
    _, run_id, _ = reviewed
    open_query(page, server, "query")
    pairs = shown_pairs(page)
    assert {p["ref_id"] for p in pairs} >= set(PIECES)
    best_b = next(p for p in pairs if p["ref_id"] == "ref_b")  # where the query really borrows from ref_b
    assert best_b["query_start"] == pytest.approx(SECOND_PIECE_AT, abs=1.5)
    assert best_b["ref_start"] == pytest.approx(PIECES["ref_b"][0], abs=1.5)
    for index, pair in enumerate(pairs):
        page.locator(f'#pairs tr[data-index="{index}"]').click()
        page.wait_for_function(f"document.body.dataset.pairReady === '{run_id}/query/{index}'")
        query_time, ref_time = player_times(page)
        assert query_time == pytest.approx(pair["query_start"], abs=0.05)
        assert ref_time == pytest.approx(pair["ref_start"], abs=0.05)
    page.locator("#track path.line").first.wait_for()
    page.click("#play")  # a click: the browser lets a user gesture start sound
    page.wait_for_timeout(2000)
    query_time, ref_time = player_times(page)
    last = pairs[-1]
    query_moved, ref_moved = query_time - last["query_start"], ref_time - last["ref_start"]
    assert query_moved > 0.8 and ref_moved > 0.8
    assert ref_moved == pytest.approx(query_moved * last["speed"], abs=0.4)  # in step along the pair's line
    page.click("#play")
    screenshot(page, "review_pair.png", tmp_path)


def test_a_verdict_is_stored_and_read_back(page, server, reviewed):
    cfg, run_id, _ = reviewed
    open_query(page, server, "query")
    page.fill("#note", "same picture and music")
    page.click('#verdict-form button[data-verdict="copy"]')
    page.wait_for_function("document.getElementById('verdict-status').textContent.startsWith('saved')")
    first = shown_pairs(page)[0]
    saved = [v for v in read_verdicts(FingerprintStore(cfg.index), run_id) if v.pair.ref_id == first["ref_id"]]
    assert len(saved) == 1 and saved[0].verdict == "copy" and saved[0].note == "same picture and music"
    assert saved[0].pair.query_start == pytest.approx(first["query_start"])
    # a second verdict on the same pair supersedes the first; the history keeps both
    page.click('#verdict-form button[data-verdict="unsure"]')
    page.wait_for_function("document.getElementById('verdict-status').textContent === 'saved: unsure'")
    latest = [v for v in read_verdicts(FingerprintStore(cfg.index), run_id) if v.pair.ref_id == first["ref_id"]]
    assert [v.verdict for v in latest] == ["unsure"]
    status, _, body = server.get(f"/api/verdicts.csv?run_id={run_id}&history=true")
    assert status == 200 and body.decode().count("same picture and music") == 2
    page.click('#verdict-form button[data-verdict="copy"]')
    page.wait_for_function("document.getElementById('precision').textContent.includes('1 copies')")
    assert page.inner_text("#precision").endswith("precision 1.000")


def test_an_uploaded_file_is_matched_and_shown(page, server, reviewed, tmp_path):
    _, _, media = reviewed
    page.goto(server.url)
    page.wait_for_selector("#queries li")
    page.set_input_files("#upload-file", str(media / "upload.mp4"))
    page.click("#upload-button")
    page.wait_for_function("(document.body.dataset.pairReady || '').startsWith('upload-')", timeout=120_000)
    pairs = shown_pairs(page)
    assert pairs[0]["ref_id"] == "ref_b" and pairs[0]["ref_start"] == pytest.approx(pairs[0]["query_start"], abs=1.0)
    query_time, ref_time = player_times(page)
    assert query_time == pytest.approx(pairs[0]["query_start"], abs=0.05)
    assert ref_time == pytest.approx(pairs[0]["ref_start"], abs=0.05)
    page.locator("#track path.line").first.wait_for()
    page.locator("#track line.threshold").first.wait_for(state="attached")  # the upload's run carries its calibration
    screenshot(page, "review_upload.png", tmp_path)


def test_media_is_served_only_when_registered(server, reviewed):
    cfg, run_id, media = reviewed
    status, headers, body = server.get(f"/media/{run_id}/query/query", {"Range": "bytes=100-199"})
    assert status == 206 and len(body) == 100 and headers["content-range"].startswith("bytes 100-199/")
    assert body == (media / "query.mp4").read_bytes()[100:200]
    assert server.get(f"/media/{run_id}/ref/ref_a")[0] == 200
    refused = [f"/media/{run_id}/query/..%2F..%2F..%2Fetc%2Fpasswd", f"/media/{run_id}/query/../../../etc/passwd",
               f"/media/{run_id}/ref/..%2Fquery.mp4", f"/media/{run_id}/file/{media / 'query.mp4'}",
               f"/media/{run_id}/ref/query", "/media/no-such-run/ref/ref_a", "/static/../app.py",
               "/static/..%2Fapp.py"]
    for path in refused:
        status, _, body = server.get(path)
        assert status in (404, 400), (path, status)
        assert b"root:" not in body and b"def create_app" not in body


def test_a_token_is_needed_beyond_loopback(reviewed):
    cfg, run_id, _ = reviewed
    with ReviewServer(cfg, token="s3cret") as guarded:
        assert guarded.get("/api/runs")[0] == 401
        assert guarded.get(f"/media/{run_id}/ref/ref_a")[0] == 401
        status, headers, _ = guarded.get("/?token=s3cret")
        assert status == 200 and "avm_review_token=s3cret" in headers.get("set-cookie", "")
        assert guarded.get("/api/runs", {"Cookie": "avm_review_token=s3cret"})[0] == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{guarded.url}api/runs?token=wrong")


def test_the_query_list_pages_and_filters_in_the_scan(server, reviewed):
    _, run_id, _ = reviewed
    listed = json.loads(server.get(f"/api/runs/{run_id}/queries?limit=1")[2])
    assert listed["total"] == 1 and listed["queries"][0]["query_id"] == "query"
    assert json.loads(server.get(f"/api/runs/{run_id}/queries?min_score=1.01")[2])["total"] == 0
    only_b = json.loads(server.get(f"/api/runs/{run_id}/queries?ref=REF_B")[2])["queries"]
    assert only_b[0]["references"] == 1 and only_b[0]["pairs"] >= 1


def test_verdicts_are_ground_truth_for_evaluate_and_judge_the_thresholds(server, reviewed, tmp_path):
    cfg, run_id, _ = reviewed
    pairs = json.loads(server.get(f"/api/runs/{run_id}/queries/query")[2])["pairs"]
    best = {}
    for pair in pairs:  # best first: the first pair of each reference is the copy
        best.setdefault(pair["ref_id"], pair)
    for ref_id, pair in best.items():
        key = {k: pair[k] for k in ("query_id", "query_start", "query_end", "ref_id", "ref_start", "ref_end")}
        body = json.dumps({**key, "run_id": run_id, "verdict": "copy" if ref_id in PIECES else "not_copy"})
        request = urllib.request.Request(f"{server.url}api/verdicts", body.encode(),
                                         {"content-type": "application/json"})
        assert json.loads(urllib.request.urlopen(request).read())["verdict"]["verdict"] in ("copy", "not_copy")
    out = tmp_path / "metrics.json"
    run = subprocess.run([AVM, "evaluate", f"predictions={cfg.results}/matches", f"run_id={run_id}",
                          f"verdicts={cfg.index.uri}", f"verdicts_run={run_id}", f"output={out}"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"ground truth: {len(best)} verdicts on 1 queries, {len(PIECES)} pairs judged copies" in run.stdout
    assert json.loads(out.read_text())["recall"] == 1.0
    calibration = Calibration.from_json(json.dumps(json.loads((Path(cfg.results) / "runs" / f"{run_id}.json")
                                                              .read_text())["calibration"]))
    (line,) = verdict_lines(calibration, read_verdicts(FingerprintStore(cfg.index), run_id))
    assert line.startswith(f"verdicts: {len(best)} reviewed pairs judged copy or not; these thresholds report "
                           f"{len(best)}: precision {len(PIECES) / len(best):.3f}")


def test_hundreds_of_runs_and_thousands_of_pairs_are_paged(reviewed, tmp_path):
    cfg, _, _ = reviewed
    results = tmp_path / "many"
    rng = np.random.default_rng(0)
    for run in range(150):
        pairs = 3000 if run == 149 else 20
        starts = rng.uniform(0, 3000, pairs)
        segments = [Segment(f"q{i % 600:04d}", s, s + 10, f"ref_{i % 7}", s, s + 10, score=float(rng.uniform(0.5, 1)),
                            modality=("audio", "visual", "audio+visual")[i % 3]) for i, s in enumerate(starts)]
        write_matches(segments, str(results), {"run_id": f"r{run:03d}", "finished_at": f"2026-12-03T00:{run // 60:02d}:"
                                                                                          f"{run % 60:02d}"})
    with ReviewServer(dataclasses.replace(cfg, results=str(results), uploads=str(tmp_path / "uploads"))) as many:
        runs = json.loads(many.get("/api/runs?limit=20")[2])
        assert runs["total"] == 150 and len(runs["runs"]) == 20 and runs["runs"][0]["run_id"] == "r149"
        first = json.loads(many.get("/api/runs/r149/queries?limit=50")[2])
        assert first["total"] == 600 and len(first["queries"]) == 50
        scores = [q["best_score"] for q in first["queries"]]
        assert scores == sorted(scores, reverse=True) and sum(q["pairs"] for q in first["queries"]) == 250
        last = json.loads(many.get("/api/runs/r149/queries?limit=50&offset=580")[2])
        assert len(last["queries"]) == 20
        audio = json.loads(many.get("/api/runs/r149/queries?evidence=audio&limit=1000")[2])["queries"]
        assert audio and all(q["evidence"] == ["audio"] for q in audio)
        assert len(json.loads(many.get("/api/runs/r149/queries/q0007")[2])["pairs"]) == 5


def test_reviewers_saving_at_once_lose_no_verdict(tmp_path):
    uri = str(tmp_path / "store")
    pair = Segment("q", 1.0, 11.0, "r", 2.0, 12.0, score=0.9, modality="audio")

    def review(reviewer: str) -> None:
        store = FingerprintStore(IndexOptions(uri=uri))  # a connection of its own, as another app would have
        for i in range(15):
            add_verdict(store, Verdict("run", pair, VERDICTS[i % 3], note=f"{reviewer} {i}", reviewer=reviewer))

    threads = [threading.Thread(target=review, args=(f"reviewer{k}",)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = verdict_rows(FingerprintStore(IndexOptions(uri=uri)), history=True)
    assert history.num_rows == 45 and len(set(history["note"].to_pylist())) == 45
    (latest,) = read_verdicts(FingerprintStore(IndexOptions(uri=uri)), "run")
    assert latest.note == history["note"][-1].as_py()  # the last saved is the verdict


def test_a_reviewer_killed_while_saving_loses_nothing_saved_and_saves_again(tmp_path):
    uri = str(tmp_path / "store")
    script = (f"from avm.index import FingerprintStore, IndexOptions, add_verdict\n"
              f"from avm.types import Segment, Verdict\n"
              f"store = FingerprintStore(IndexOptions(uri={uri!r}))\n"
              f"for i in range(10_000):\n"
              f"    add_verdict(store, Verdict('run', Segment('q', i, i + 10.0, 'r', i, i + 10.0), 'copy', note=str(i)))\n")
    saving = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if verdict_rows(FingerprintStore(IndexOptions(uri=uri)), history=True).num_rows >= 5:
            break
        time.sleep(0.2)
    saving.kill()
    saving.wait()
    store = FingerprintStore(IndexOptions(uri=uri))
    saved = verdict_rows(store, history=True)
    notes = [int(n) for n in saved["note"].to_pylist()]
    assert len(notes) >= 5 and sorted(notes) == list(range(len(notes)))  # each commit whole, in order, none twice
    add_verdict(store, Verdict("run", Segment("q", 0.0, 10.0, "r", 0.0, 10.0), "not_copy", note="again"))
    latest = {v.pair.query_start: v for v in read_verdicts(FingerprintStore(IndexOptions(uri=uri)), "run")}
    assert len(latest) == len(notes) and latest[0.0].verdict == "not_copy"

"""S3 end to end against a real S3-compatible server (moto in server mode, started here): the manifest, the media,
the LanceDB store and the scan results all live in a bucket; nothing is copied to local disk by hand."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
import ray
from moto.server import ThreadedMotoServer

from avm.errors import UserError
from avm.index import FingerprintStore
from avm.manifest import read_inputs
from avm.pipeline.config import IngestConfig, ScanConfig
from avm.pipeline.runner import ingest, scan
from avm.results import read_matches, scan_runs
from avm.review import ReviewConfig

from conftest import ReviewServer, excerpt, job_config

BUCKET = "avm-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A bucket on a local S3 server; the standard AWS variables point every client (pyarrow, boto3, LanceDB, Ray
    workers started after this) at it."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as env:
        for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "avm-test",
                           "AWS_SECRET_ACCESS_KEY": "avm-test", "AWS_REGION": "us-east-1",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}.items():
            env.setenv(key, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        ray.init(num_cpus=2, include_dashboard=False)  # after the variables, so the workers inherit them
        try:
            yield client
        finally:
            ray.shutdown()
    server.stop()


def _keys(client, prefix: str) -> dict[str, str]:
    """Key → ETag of every object under ``prefix``."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def test_manifest_media_store_and_results_on_s3(s3, media_dir, tmp_path):
    s3.upload_file(str(media_dir / "av.mp4"), BUCKET, "catalog/films/av.mp4")
    s3.upload_file(str(media_dir / "audio_only.m4a"), BUCKET, "catalog/audio_only.m4a")
    s3.upload_file(str(media_dir / "text.mp4"), BUCKET, "catalog/text.mp4")
    manifest = "uri,video_id\nfilms/av.mp4,av\naudio_only.m4a,\ntext.mp4,\nmissing.mp4,\n"
    s3.put_object(Bucket=BUCKET, Key="catalog/manifest.csv", Body=manifest.encode())
    s3.upload_file(str(excerpt(media_dir / "av.mp4", tmp_path / "pirate.mp4", 2.0, 8.0)), BUCKET, "queries/pirate.mp4")
    store, results = f"s3://{BUCKET}/db", f"s3://{BUCKET}/results"
    common = {"index.uri": store, "media.allowed_schemes": "[s3]"}

    entries = read_inputs(f"s3://{BUCKET}/catalog/manifest.csv")
    assert {e.video_id: e.uri for e in entries}["av"] == f"s3://{BUCKET}/catalog/films/av.mp4"
    cfg = job_config("ingest", IngestConfig, tmp_path / "out", input=f"s3://{BUCKET}/catalog/manifest.csv", **common)
    summary = ingest(cfg, entries)
    assert (summary.ingested, summary.failed) == (2, 2)
    failures = dict(summary.failures)
    assert failures["missing"] == f"s3://{BUCKET}/catalog/missing.mp4: object does not exist"
    assert failures["text"].startswith(f"s3://{BUCKET}/catalog/text.mp4: ")
    assert _keys(s3, "db/"), "the store lives in the bucket"
    again = ingest(cfg, entries)  # the objects' size and time say nothing changed
    assert (again.ingested, again.skipped) == (0, 2)
    videos = FingerprintStore(cfg.index).videos(["video_id", "content_hash"]).to_pylist()
    assert {r["video_id"]: r["content_hash"] for r in videos}["av"].startswith("etag:")

    queries = read_inputs(f"s3://{BUCKET}/queries/")
    assert [(q.video_id, q.uri) for q in queries] == [("pirate", f"s3://{BUCKET}/queries/pirate.mp4")]
    scan_cfg = job_config("scan", ScanConfig, tmp_path / "out", queries=f"s3://{BUCKET}/queries/",
                          output_dir=results, **common)
    first = scan(scan_cfg, queries)
    found = first.matches.to_pandas()
    assert set(zip(found.query_id, found.ref_id, strict=True)) == {("pirate", "av")}
    best = found.sort_values("score").iloc[-1]
    assert abs(best.query_start - 0) <= 1.5 and abs(best.ref_start - 2) <= 1.5
    written = _keys(s3, "results/matches/")
    assert list(written) == [f"results/matches/run={first.run_id}/part-0.parquet"]
    stored = read_matches(f"{results}/matches")
    assert sorted(stored, key=lambda s: s.score) == sorted(first.segments, key=lambda s: s.score)
    rows = pq.read_table(f"{results}/matches/run={first.run_id}/part-0.parquet").to_pandas()
    assert set(rows.run_id) == {first.run_id} and set(rows.query_uri) == {f"s3://{BUCKET}/queries/pirate.mp4"}
    assert set(rows.ref_uri) == {f"s3://{BUCKET}/catalog/films/av.mp4"}

    second = scan(scan_cfg, queries)  # a new partition; the first run's object is untouched
    now = _keys(s3, "results/matches/")
    assert len(now) == 2 and now[f"results/matches/run={first.run_id}/part-0.parquet"] == \
        written[f"results/matches/run={first.run_id}/part-0.parquet"]
    assert set(scan_runs(f"{results}/matches")) == {first.run_id, second.run_id}
    assert read_matches(f"{results}/matches", first.run_id) == stored
    assert {f"results/runs/{first.run_id}.json", "results/matches.csv", "results/run.json"} <= set(_keys(s3, "results/"))
    assert not Path(tmp_path / "out" / "lancedb").exists()

    # the review page over the bucket: media are redirected to presigned URLs that really serve the object
    review_cfg = job_config("review", ReviewConfig, tmp_path / "out", results=results, **common)
    with ReviewServer(review_cfg) as review:
        status, headers, _ = review.get(f"/media/{second.run_id}/ref/av")
        assert status == 307 and headers["location"].startswith(os.environ["AWS_ENDPOINT_URL"])
        with urllib.request.urlopen(urllib.request.Request(headers["location"], headers={"Range": "bytes=0-99"})) as r:
            assert r.status == 206 and r.read() == (media_dir / "av.mp4").read_bytes()[:100]
        pairs = json.loads(review.get(f"/api/runs/{second.run_id}/queries/pirate")[2])["pairs"]
        assert {p["ref_id"] for p in pairs} == {"av"}


def test_object_store_inputs_that_name_nothing_are_user_errors(s3):
    with pytest.raises(UserError, match="no media files found in s3://avm-test/nothing/"):
        read_inputs(f"s3://{BUCKET}/nothing/")

"""A real multi-node Ray cluster on this machine (``ray start --head`` plus a second node, each with its own CPUs and
custom resources): ingest and scan reach it through ``RAY_ADDRESS`` and place their stages by resources."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from avm.results import read_matches

from conftest import excerpt

RAY, AVM = (str(Path(sys.executable).with_name(tool)) for tool in ("ray", "avm"))
HEAD_RESOURCES, WORKER_RESOURCES = '{"decode": 1}', '{"embed": 1, "query": 1}'
# a dict key the config does not hold yet is added with "+" (Hydra)
PLACED = {"+ray.decode.resources.decode": 1, "+ray.embed.resources.embed": 1, "+ray.query.resources.query": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_node(args: list[str], log: Path) -> subprocess.Popen:
    """One Ray node in the foreground (``--block``): stopping the process stops the node and only it."""
    return subprocess.Popen([RAY, "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                             "--object-store-memory=400000000", "--disable-usage-stats", *args],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _on_cluster(script: str) -> object:
    """Run ``script`` in a new Python process connected to the cluster (``RAY_ADDRESS``, the token from the
    environment); the JSON it prints last."""
    code = "import json, ray\nray.init(include_dashboard=False, log_to_driver=False)\n" + script
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wait_for_nodes(count: int, seconds: float = 120.0) -> list[str]:
    """The ids of the cluster's alive nodes once there are ``count``, oldest first; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        alive = _on_cluster("print(json.dumps([n['NodeID'] for n in ray.nodes() if n['Alive']]))")
        if len(alive) >= count:
            return alive
        assert time.monotonic() < deadline, f"the Ray cluster did not start {count} nodes"
        time.sleep(2)


def _avm(*args: str) -> str:
    """Run the ``avm`` command line (as a user would, on the cluster of ``RAY_ADDRESS``); its output."""
    done = subprocess.run([AVM, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head node offering ``decode`` and a worker node offering ``embed`` and ``query``, one CPU each."""
    logs = tmp_path_factory.mktemp("ray_logs")
    temp_dir = tempfile.mkdtemp(prefix="avmray")  # short: Ray's socket paths must fit in 107 bytes
    port = _free_port()
    address = f"127.0.0.1:{port}"
    nodes: list[subprocess.Popen] = []
    with pytest.MonkeyPatch.context() as env:
        # local clusters authenticate with a token: every process of this cluster gets it
        env.setenv("RAY_AUTH_MODE", "token")
        env.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        env.delenv("RAY_ADDRESS", raising=False)
        try:
            nodes.append(_start_node(["--head", f"--port={port}", "--include-dashboard=false",
                                      f"--temp-dir={temp_dir}", f"--resources={HEAD_RESOURCES}"], logs / "head.log"))
            env.setenv("RAY_ADDRESS", address)
            head = _wait_for_nodes(1)[0]
            nodes.append(_start_node([f"--address={address}", f"--resources={WORKER_RESOURCES}"], logs / "worker.log"))
            worker = next(n for n in _wait_for_nodes(2) if n != head)
            yield {"address": address, "head": head, "worker": worker}
        finally:
            for node in nodes:
                node.terminate()
            for node in nodes:
                try:
                    node.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(node.pid, 9)
            shutil.rmtree(temp_dir, ignore_errors=True)


def _placements() -> dict[str, list[str]]:
    """Stage name → the ids of the nodes its actors and tasks ran on (from the cluster's own records)."""
    return _on_cluster("""
from ray._private import state
placed = {}
for actor in state.actors().values():
    placed.setdefault(actor["ActorClassName"], set()).add(actor["Address"]["NodeID"])
for event in state.state._get_all_task_events():  # protobuf TaskEvents; task type 0 is a normal task
    if event.task_info.type == 0 and event.state_updates.node_id:
        placed.setdefault(event.task_info.name, set()).add(event.state_updates.node_id.hex())
print(json.dumps({name: sorted(nodes) for name, nodes in placed.items()}))
""")


def test_ingest_and_scan_run_on_a_two_node_cluster_placed_by_resources(cluster, media_dir, tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name in ("av.mp4", "audio_only.m4a", "video_only.mp4"):
        shutil.copy(media_dir / name, catalog / name)
    out = tmp_path / "out"
    placed_by_resources = [f"{key}={value}" for key, value in PLACED.items()]
    log = _avm("ingest", f"input={catalog}", f"paths.output_dir={out}", *placed_by_resources)
    assert "files: 3 (ingested 3" in log and "failed 0)" in log, log

    query = excerpt(media_dir / "av.mp4", tmp_path / "pirate.mp4", 2.0, 8.0)
    _avm("scan", f"queries={query}", f"paths.output_dir={out}", f"output_dir={out / 'scan'}", *placed_by_resources)
    found = read_matches(out / "scan" / "matches")
    assert {(s.query_id, s.ref_id) for s in found} == {("pirate", "av")}

    placed = _placements()  # Ray Data names operators "MapBatches(<stage>)", their actors "MapWorker(...)"
    on = {stage: {node for name, nodes in placed.items() if f"MapBatches({stage})" in name for node in nodes}
          for stage in ("decode", "embed", "query")}
    assert on == {"decode": {cluster["head"]}, "embed": {cluster["worker"]}, "query": {cluster["worker"]}}, placed

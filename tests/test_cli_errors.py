"""How the `avm` jobs fail: a user error is one line on stderr and exit code 2, anything else one line and exit
code 1, a traceback only with --debug / AVM_DEBUG=1 (a mistyped, ill-typed or out-of-range option included); a
batch whose every file failed exits with 1; and `avm match FILE` takes any file name literally."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from avm.errors import UserError
from avm.index import FingerprintStore, IndexOptions
from jobs import cli
from jobs.errors import exit_if_every_file_failed, reported

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")
ENV = {k: v for k, v in os.environ.items() if k not in ("AVM_DEBUG", "HYDRA_FULL_ERROR")}


def avm(cwd: Path, *args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess:
    return subprocess.run([AVM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def one_line(run: subprocess.CompletedProcess) -> str:
    """The only line the job wrote to stderr."""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.parametrize("args", [["it's ${x} a\\b $HOME.mp4"], ["-clip.mp4"], ["--", "-clip.mp4"]],
                         ids=["quote-interpolation-backslash", "leading-dash", "after-double-dash"])
def test_match_takes_the_file_name_literally(tmp_path, args):
    name = args[-1]
    (tmp_path / name).touch()  # an empty file: refused by name before the catalog is opened
    run = avm(tmp_path, "match", *args)
    assert run.returncode == 2
    assert one_line(run).startswith(f"avm match: error: {name}: ") and "empty" in run.stderr


def test_quoting_survives_hydras_grammar():
    parser = OverridesParser.create()
    for value in ["a'b", "${x}", "\\${x}", "a\\b", "tail\\", "\\'", "x\\\\'y", "a b,c=d]", "$x{}", "'", "\\\\${x}"]:
        parsed = parser.parse_override(f"file={cli.hydra_quoted(value)}").value()
        assert OmegaConf.to_container(OmegaConf.create({"file": parsed}), resolve=True)["file"] == value


def test_scan_needs_queries(tmp_path):
    run = avm(tmp_path, "scan")
    assert run.returncode == 2
    assert one_line(run) == ("avm scan: error: no queries given: use queries=<manifest|directory|glob>, or "
                             "queries=catalog to scan the whole catalog against itself")


@pytest.mark.parametrize("job,key", [("ingest", "input"), ("scan", "queries")])
def test_an_empty_input_folder_is_a_user_error(tmp_path, job, key):
    (tmp_path / "empty").mkdir()
    run = avm(tmp_path, job, f"{key}=empty")
    assert run.returncode == 2
    assert one_line(run).startswith(f"avm {job}: error: no media files found in empty (looked for ")


@pytest.mark.parametrize("override,line", [
    ("search.kk=1", "Could not override 'search.kk': Key 'kk' not in 'SearchOptions'"),
    ("search.k=ten", "Error merging override search.k=ten: Value 'ten' of type 'str' could not be converted to Integer"),
    ("search=nope", "In 'scan': Could not find 'search/nope' (known: default)"),
    ("match.modality.audio.align.min_speed=1.5",
     "match.modality.audio.align.min_speed=1.5 is out of range: it must be between 0.1 and 1.0"),
    ("media.on_damage=maybe", "media.on_damage=maybe must be one of partial, fail"),
    ("media.allowed_formats=[]", "media.allowed_formats is empty: no file could be opened"),
    ("output_dir=${nope}", "Interpolation key 'nope' not found (option output_dir)"),
], ids=["mistyped-key", "wrong-type", "unknown-group-option", "out-of-range", "not-a-choice", "refused-by-its-class",
                         "interpolation"])
def test_a_bad_option_is_one_line_and_exit_code_2(tmp_path, override, line):
    run = avm(tmp_path, "scan", "queries=missing.mp4", override)
    assert run.returncode == 2
    assert one_line(run) == f"avm scan: error: {line}"
    assert not any(tmp_path.iterdir())  # nothing written: not even Hydra's run folder


def test_evaluate_names_a_missing_or_malformed_input(tmp_path):
    (tmp_path / "pairs.csv").write_text("query_id,query_start,query_end,ref_id,ref_start,ref_end\nq,0,5,r,0,5\n")
    (tmp_path / "gt.csv").write_text("a,b\n1,2\n")
    missing = avm(tmp_path, "evaluate", "ground_truth=gt.csv")
    assert missing.returncode == 2
    assert one_line(missing) == ("avm evaluate: error: predictions=outputs/scan/matches: no such file or folder (run "
                                 "avm scan first, or set predictions=)")
    malformed = avm(tmp_path, "evaluate", "ground_truth=gt.csv", "predictions=pairs.csv")
    assert malformed.returncode == 2
    assert one_line(malformed).startswith("avm evaluate: error: gt.csv: unrecognised CSV header ['a', 'b']; expected ")
    no_edits = avm(tmp_path, "evaluate", "ground_truth=pairs.csv", "predictions=pairs.csv", "evidence=[audio]")
    assert no_edits.returncode == 2
    assert one_line(no_edits) == ("avm evaluate: error: evidence=[audio] needs the edits table: set edits=, or put "
                                  "edits.csv beside the ground truth")


def test_a_benchmark_without_media_is_a_user_error(tmp_path):
    missing = avm(tmp_path, "bench", "make", f"media_dir={tmp_path / 'nope'}", "extra_media_dirs=[]")
    assert missing.returncode == 2
    assert one_line(missing) == f"avm bench make: error: media_dir={tmp_path / 'nope'}: no such folder"
    (tmp_path / "empty").mkdir()
    empty = avm(tmp_path, "bench", "make", f"media_dir={tmp_path / 'empty'}", "extra_media_dirs=[]")
    assert empty.returncode == 2
    assert one_line(empty).startswith("avm bench make: error: small: 4 catalog videos need 4 visual sources")


def test_debug_shows_the_traceback(tmp_path):
    quiet = avm(tmp_path, "evaluate", "predictions=p.csv")
    assert quiet.returncode == 2
    assert one_line(quiet) == ("avm evaluate: error: ground_truth is required (set ground_truth=<hackathon CSV>, or "
                               "verdicts=<store> to score against reviewers' verdicts; not both)")
    loud = avm(tmp_path, "--debug", "evaluate", "predictions=p.csv")
    assert loud.returncode == 2 and "Traceback" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == one_line(quiet)


def fail(exc: Exception):
    @reported("job")
    def task() -> None:
        raise exc

    return task


@pytest.mark.parametrize("exc,code,line", [
    (UserError("bad option"), 2, "avm job: error: bad option"),
    (FileNotFoundError(2, "No such file or directory", "x.csv"), 2, "avm job: error: x.csv: No such file or directory"),
    (RuntimeError("boom\nmore"), 1, "avm job: failed: RuntimeError: boom (AVM_DEBUG=1 for the traceback)"),
    (RuntimeError("lance error: LanceError(IO): Generic S3 error: Failed to resolve region for bucket 'b', "
                  "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lance-io-13.0.0/src/object_store/"
                  "providers/aws.rs:319:13"), 1,
     "avm job: failed: RuntimeError: lance error: LanceError(IO): Generic S3 error: Failed to resolve region for "
     "bucket 'b' (AVM_DEBUG=1 for the traceback)"),
])
def test_reported_failures(capsys, monkeypatch, exc, code, line):
    monkeypatch.delenv("AVM_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stop:
        fail(exc)()
    assert stop.value.code == code and capsys.readouterr().err == line + "\n"
    monkeypatch.setenv("AVM_DEBUG", "1")
    with pytest.raises(SystemExit) as stop:
        fail(exc)()
    err = capsys.readouterr().err
    assert stop.value.code == code and "Traceback" in err and err.splitlines()[-1] == line.split(" (AVM_DEBUG")[0]


def test_unknown_job(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["avm", "--debug", "nosuchjob"])
    monkeypatch.setenv("AVM_DEBUG", "0")  # restored after the test
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2 and "unknown job 'nosuchjob'" in capsys.readouterr().err
    assert os.environ["AVM_DEBUG"] == "1"


def test_an_ingest_whose_every_file_failed_exits_with_1(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.mp4").write_bytes(b"")
    (tmp_path / "in" / "text.mp4").write_text("not media\n")
    run = avm(tmp_path, "ingest", "input=in", "index.uri=db", "paths.output_dir=out", "ray.num_cpus=1")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.stderr.strip().splitlines()[-1] == ("avm ingest: failed: every one of the 2 input files failed (the "
                                                   "FAILED lines above say why)")
    assert "FAILED empty: " in run.stdout and "FAILED text: " in run.stdout
    videos = FingerprintStore(IndexOptions(uri=str(tmp_path / "db"))).videos(["video_id", "status"]).to_pandas()
    assert sorted(zip(videos.video_id, videos.status, strict=True)) == [("empty", "failed"), ("text", "failed")]


def test_a_batch_with_a_file_left_exits_with_0(capsys):
    exit_if_every_file_failed("job", 0, [])
    exit_if_every_file_failed("job", 3, [("a", "broken"), ("b", "broken")])
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as stop:
        exit_if_every_file_failed("job", 2, [("a", "broken"), ("b", "broken")])
    assert stop.value.code == 1 and "every one of the 2 input files failed" in capsys.readouterr().err

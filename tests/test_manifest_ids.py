"""Video ids of job inputs: files with one name in two folders get two ids, and no id clash aborts a batch."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from avm.errors import UserError
from avm.manifest import default_video_id, read_inputs


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def ids(spec: Path | str) -> dict[str, str]:
    """video_id → file, relative to nothing (absolute paths)."""
    return {e.video_id: e.uri for e in read_inputs(str(spec))}


def test_one_name_in_two_folders_gives_two_ids(tmp_path):
    touch(tmp_path, "a/x.mp4", "b/x.mp4", "b/deep/y.webm", "notes.txt")
    assert ids(tmp_path) == {"a/x": str(tmp_path / "a/x.mp4"), "b/x": str(tmp_path / "b/x.mp4"),
                             "b/deep/y": str(tmp_path / "b/deep/y.webm")}
    # a glob: relative to its folders before the first wildcard
    assert set(ids(tmp_path / "*" / "x.mp4")) == {"a/x", "b/x"}
    assert set(ids(tmp_path / "b" / "**" / "*.*")) == {"x", "deep/y"}
    assert set(ids(tmp_path / "a" / "x.mp4")) == {"x"}  # a single file: its name


def test_a_flat_folder_keeps_the_file_names(tmp_path):
    touch(tmp_path, "x.mp4", "clip.v2.mkv", "song.opus")
    assert sorted(ids(tmp_path)) == ["clip.v2", "song", "x"]
    assert default_video_id("s3://bucket/dir/clip.v2.mp4?sig=1") == "clip.v2"


def test_an_empty_folder_is_a_user_error(tmp_path):
    touch(tmp_path, "notes.txt")
    with pytest.raises(UserError, match=f"no media files found in {tmp_path} .*\\.mp4"):
        read_inputs(str(tmp_path))


def test_manifest_ids_given_else_names_else_paths(tmp_path):
    touch(tmp_path, "a/x.mp4", "b/x.mp4", "c/y.mp4", "z.mp4")
    (tmp_path / "m.csv").write_text("uri,video_id\na/x.mp4,\nb/x.mp4,\nc/y.mp4,\nz.mp4,Z\n"
                                    "https://host/p/q/x.mp4?sig=1,\nhttps://host/r/w.mp4,\n")
    assert ids(tmp_path / "m.csv") == {"a/x": str(tmp_path / "a/x.mp4"), "b/x": str(tmp_path / "b/x.mp4"),
                                       "y": str(tmp_path / "c/y.mp4"), "Z": str(tmp_path / "z.mp4"),
                                       "p/q/x": "https://host/p/q/x.mp4?sig=1", "w": "https://host/r/w.mp4"}
    # a name clashing with an explicit id: the file without an id takes its path
    (tmp_path / "n.csv").write_text("uri,video_id\nz.mp4,y\nc/y.mp4,\n")
    assert ids(tmp_path / "n.csv") == {"y": str(tmp_path / "z.mp4"), "c/y": str(tmp_path / "c/y.mp4")}


def test_one_explicit_id_for_two_files_skips_the_second(tmp_path, caplog):
    touch(tmp_path, "a.mp4", "b.mp4")
    (tmp_path / "m.csv").write_text("uri,video_id\na.mp4,same\nb.mp4,same\na.mp4,same\n")
    with caplog.at_level(logging.WARNING, logger="avm.manifest"):
        assert ids(tmp_path / "m.csv") == {"same": str(tmp_path / "a.mp4")}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'same'" in warnings[0] and str(tmp_path / "a.mp4") in warnings[0] and str(tmp_path / "b.mp4") in warnings[0]

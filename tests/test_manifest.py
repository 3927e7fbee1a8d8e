"""Job inputs: manifests in three formats, directories and globs."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from avm.manifest import read_inputs


def test_manifest_formats_agree(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.mkv").write_bytes(b"x")
    (tmp_path / "m.csv").write_text("uri,video_id\na.mp4,A\nb.mkv,\n")
    (tmp_path / "m.jsonl").write_text(json.dumps({"uri": "a.mp4", "video_id": "A"}) + "\n" + json.dumps({"uri": "b.mkv"}) + "\n")
    pq.write_table(pa.table({"uri": [str(tmp_path / "a.mp4"), str(tmp_path / "b.mkv")], "video_id": ["A", None]}),
                   tmp_path / "m.parquet")
    expected = [(str(tmp_path / "a.mp4"), "A"), (str(tmp_path / "b.mkv"), "b")]
    for name in ("m.csv", "m.jsonl", "m.parquet"):
        assert [(e.uri, e.video_id) for e in read_inputs(str(tmp_path / name))] == expected


def test_directory_and_glob(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("x.mp4", "sub/y.webm", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert sorted(e.video_id for e in read_inputs(str(tmp_path))) == ["x", "y"]
    assert [e.video_id for e in read_inputs(str(tmp_path / "**" / "*.webm"))] == ["y"]
    with pytest.raises(FileNotFoundError, match="matches nothing"):
        read_inputs(str(tmp_path / "nothing-*.mp4"))


def test_one_id_for_two_files_is_an_error(tmp_path):
    (tmp_path / "m.csv").write_text("uri,video_id\na.mp4,same\nb.mp4,same\n")
    with pytest.raises(ValueError, match="'same' is given to two files"):
        read_inputs(str(tmp_path / "m.csv"))
    (tmp_path / "n.csv").write_text("path\na.mp4\n")
    with pytest.raises(ValueError, match="no 'uri' column"):
        read_inputs(str(tmp_path / "n.csv"))

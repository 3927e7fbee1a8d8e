"""Job inputs: manifests in three formats, directories and globs."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from avm.errors import UserError
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
    assert sorted(e.video_id for e in read_inputs(str(tmp_path))) == ["sub/y", "x"]
    assert [e.video_id for e in read_inputs(str(tmp_path / "**" / "*.webm"))] == ["sub/y"]
    assert [e.video_id for e in read_inputs(str(tmp_path / "sub" / "*.webm"))] == ["y"]
    assert [e.video_id for e in read_inputs(str(tmp_path / "sub" / "y.webm"))] == ["y"]
    with pytest.raises(UserError, match="matches no file"):
        read_inputs(str(tmp_path / "nothing-*.mp4"))


def test_a_manifest_without_uris_is_a_user_error(tmp_path):
    (tmp_path / "n.csv").write_text("path\na.mp4\n")
    with pytest.raises(UserError, match="no 'uri' column"):
        read_inputs(str(tmp_path / "n.csv"))
    (tmp_path / "e.csv").write_text("uri,video_id\n")
    with pytest.raises(UserError, match="lists no files"):
        read_inputs(str(tmp_path / "e.csv"))


@pytest.mark.parametrize("name,text,why", [
    ("m.csv", '"uri,video_id\na.mp4,A\n', "CSV parse error"),
    ("m.jsonl", '{"uri": "a.mp4"}\n{bad json\n', "JSON parse error"),
    ("m.parquet", "not parquet", "Parquet magic bytes not found"),
])
def test_a_manifest_its_format_cannot_parse_is_a_user_error_naming_it(tmp_path, name, text, why):
    (tmp_path / name).write_text(text)
    kind = name.split(".")[1]
    with pytest.raises(UserError, match=rf"^{tmp_path / name}: not a readable {kind} manifest \(.*{why}"):
        read_inputs(str(tmp_path / name))

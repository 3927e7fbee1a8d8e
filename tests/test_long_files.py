"""Long files decoded and fingerprinted in pieces (``media.chunk_seconds``) give the whole file's fingerprints,
in this process and on real Ray, and fail as one file."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

from avm.errors import UserError
from avm.fingerprint import FingerprintOptions
from avm.media import DecodeOptions
from avm.pipeline import FingerprintedRow, MediaRow, fingerprinting_stages, run_stages
from avm.pipeline.ray_adapter import _from_batch, _to_batch, iter_rows, map_stage, rows_dataset
from avm.pipeline.rows import CatalogRow, lost_inputs
from avm.types import Fingerprints

PIECES = DecodeOptions(chunk_seconds=4, chunk_margin_seconds=3)  # the 8-12 s test files: 2-3 pieces per stream


def _same_prints(a: FingerprintedRow, b: FingerprintedRow) -> None:
    assert not a.error and not b.error and a.prints.keys() == b.prints.keys()
    assert any(len(fp) for fp in a.prints.values())
    for m in a.prints:
        assert np.array_equal(a.prints[m].t_start, b.prints[m].t_start), m
        assert np.array_equal(a.prints[m].t_end, b.prints[m].t_end), m
        # the same embeddings, up to float16 rounding of the stored vectors
        assert len(a.prints[m]) == 0 or np.abs(a.prints[m].vectors.astype(np.float32) - b.prints[m].vectors.astype(np.float32)).max() < 2e-3


@pytest.mark.parametrize("queries", [False, True])
def test_a_file_in_pieces_gives_the_whole_files_fingerprints(media_dir, queries):
    model = FingerprintOptions()
    steps = model.query_steps() if queries else None  # a scan's finer step keeps its grid across pieces
    files = [MediaRow(str(media_dir / name), name) for name in ("av.mp4", "video_only.mp4")]
    whole = run_stages(fingerprinting_stages(DecodeOptions(), model, steps), files)
    pieces = run_stages(fingerprinting_stages(PIECES, model, steps), files)
    for a, b in zip(whole, pieces, strict=True):
        _same_prints(a, b)
        assert (b.part, b.parts, b.damage, b.info.duration) == (0, 1, "", a.info.duration)


def test_piece_settings_are_checked():
    for chunk, margin in ((4, 5), (600.5, 5), (600, 2.5)):
        with pytest.raises(UserError, match="must be whole seconds, the margin at least 1 and less than the chunk"):
            DecodeOptions(chunk_seconds=chunk, chunk_margin_seconds=margin)
    with pytest.raises(UserError, match=r"^media.chunk_margin_seconds=0 is out of range: it must be at least 1.0$"):
        DecodeOptions(chunk_seconds=600, chunk_margin_seconds=0)
    assert DecodeOptions(chunk_seconds=0).chunk_seconds == 0  # files decoded whole


def test_margins_too_short_for_the_models_fail_the_file_with_the_setting_named(media_dir):
    short = DecodeOptions(chunk_seconds=4, chunk_margin_seconds=1)  # the audio model needs more context
    (row,) = run_stages(fingerprinting_stages(short, FingerprintOptions()), [MediaRow(str(media_dir / "av.mp4"), "av")])
    assert "av.mp4" in row.error and "media.chunk_margin_seconds is shorter than" in row.error


def test_on_ray_the_pieces_travel_apart_and_come_together_as_one_row_per_file(media_dir, local_ray):
    model = FingerprintOptions()
    names = ["av.mp4", "text.mp4", "audio_only.m4a", "video_only.mp4", "av.mp4"]  # one file listed twice
    files = [MediaRow(str(media_dir / name), name) for name in names]
    dataset = rows_dataset(files)
    for stage in fingerprinting_stages(PIECES, model):
        dataset = map_stage(dataset, stage)
    rows = list(iter_rows(dataset))
    assert sorted(r.video_id for r in rows) == sorted(names)  # one row per file listed, whatever its pieces
    failed = [r for r in rows if r.error]
    assert len(failed) == 1 and "text.mp4: not a readable media file" in failed[0].error
    whole = {r.video_id: r for r in run_stages(fingerprinting_stages(DecodeOptions(), model),
                                               [f for f in files[:4] if f.video_id != "text.mp4"])}
    for row in rows:
        if not row.error:
            _same_prints(whole[row.video_id], row)


def test_rows_sent_between_workers_do_not_keep_their_arrays_alive():
    wave = np.zeros(16000 * 60, np.float32)
    alive = weakref.ref(wave)
    batch = _to_batch([Fingerprints("audio", np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, 4)), ""),
                       {"wave": wave, "empty": np.zeros(0, np.float32)}])
    empty, received = _from_batch(batch)
    assert np.array_equal(received["wave"], wave) and len(received["empty"]) == 0 and len(empty) == 0
    del wave, received, batch
    assert alive() is None  # a worker that decodes file after file holds none of them


def test_inputs_whose_rows_never_came_back_are_named_as_failed():
    """A worker lost with the parts it held leaves no row: the job names each such input with its file."""
    sent = [MediaRow("/media/a.mp4", "a"), MediaRow("/media/b.mp4", "b"), CatalogRow("c")]
    lost = lost_inputs(sent, came_back={"a"})
    assert [video_id for video_id, _ in lost] == ["b", "c"]
    assert lost[0][1].startswith("/media/b.mp4: no result came back from the workers")
    assert lost[1][1].startswith("c: no result came back") and "run the job again" in lost[1][1]
    assert lost_inputs(sent, came_back={"a", "b", "c"}) == []

"""Probing and decoding real files with real ffmpeg."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avm.media import DecodeOptions, MediaError, content_hash, decode, decode_pieces, is_long, probe


def test_probe_reports_streams_and_duration(media_dir):
    info = probe(str(media_dir / "av.mp4"))
    assert info.has_audio and info.has_video
    assert abs(info.duration - 12) < 0.2
    streams = json.loads(info.streams_json())
    assert {s["type"] for s in streams} == {"audio", "video"}
    assert probe(str(media_dir / "audio_only.m4a")).has_video is False


def test_decode_audio_and_frames_at_configured_rates(media_dir):
    opts = DecodeOptions(sample_rate=16000, frame_rate=2.0)
    media = decode(str(media_dir / "av.mp4"), opts)
    assert media.audio.dtype == np.float32 and abs(len(media.audio) / 16000 - 12) < 0.1
    assert 0.01 < float(np.abs(media.audio).mean()) < 1.0  # real music, not silence
    assert media.frames.dtype == np.uint8 and abs(len(media.frames) - 24) <= 1
    slower = decode(str(media_dir / "av.mp4"), DecodeOptions(frame_rate=1.0))
    assert abs(len(slower.frames) - 12) <= 1


def test_modalities_present_are_decoded(media_dir):
    video = decode(str(media_dir / "video_only.mp4"), DecodeOptions())
    assert video.audio is None and video.frames is not None
    audio = decode(str(media_dir / "audio_only.m4a"), DecodeOptions())
    assert audio.frames is None and audio.audio is not None


def test_black_bars_are_removed(media_dir):
    opts = DecodeOptions(frame_size=128)
    boxed = decode(str(media_dir / "letterbox.mp4"), opts)
    top, bottom, left, right = boxed.crop
    # 320x180 → 128x72 padded to 128x128 (28 px each side), plus the letterbox: 22 px of 180 → ~9 px of 72
    assert top >= 28 + 6 and bottom >= 28 + 6
    assert left <= 4 and right <= 4  # the footage itself has a dark edge or two
    h = boxed.frames.shape[1]
    assert 50 <= h <= 60  # about 136/180 of 72 px
    plain = decode(str(media_dir / "video_only.mp4"), opts)
    assert plain.frames.shape[1] > h


@pytest.mark.parametrize("name,reason", [("empty.mp4", "empty"), ("text.mp4", "not a readable media file"),
                                         ("missing.mp4", "does not exist")])
def test_bad_files_raise_an_error_naming_file_and_reason(media_dir, name, reason):
    with pytest.raises(MediaError) as err:
        decode(str(media_dir / name), DecodeOptions())
    assert name in str(err.value) and reason in str(err.value)


def test_url_schemes_are_off_unless_enabled():
    with pytest.raises(MediaError, match="not enabled"):
        probe("http://127.0.0.1:9/video.mp4")
    with pytest.raises(MediaError, match="not enabled"):
        decode("concat:a.mp4|b.mp4", DecodeOptions())


def test_content_hash_depends_on_bytes(media_dir, tmp_path):
    copy = tmp_path / "copy.mp4"
    copy.write_bytes((media_dir / "av.mp4").read_bytes())
    assert content_hash(str(copy)) == content_hash(str(media_dir / "av.mp4"))
    assert content_hash(str(media_dir / "video_only.mp4")) != content_hash(str(copy))


def test_only_the_modalities_asked_for_are_decoded(media_dir):
    only_audio = decode(str(media_dir / "av.mp4"), DecodeOptions(), modalities=("audio",))
    assert only_audio.frames is None and only_audio.audio is not None and only_audio.audio.size
    only_video = decode(str(media_dir / "av.mp4"), DecodeOptions(), modalities=("visual",))
    assert only_video.audio is None and only_video.frames is not None and len(only_video.frames)


def test_a_long_file_decodes_in_pieces_holding_the_whole_decode(media_dir):
    uri, opts = str(media_dir / "av.mp4"), DecodeOptions(chunk_seconds=4, chunk_margin_seconds=1)
    whole, info = decode(uri, DecodeOptions()), probe(uri)
    assert is_long(info, opts) and not is_long(info, DecodeOptions())
    pieces = list(decode_pieces(uri, opts, info))
    *streams, closing = pieces
    assert closing.empty and closing.damage is None and all(not p.empty for p in streams)
    for name, span_of, data_of, rate in (("audio", "audio_span", "audio", 16000), ("video", "frames_span", "frames", 2)):
        mine = [p for p in streams if getattr(p, span_of) is not None]
        spans, arrays = [getattr(p, span_of) for p in mine], [getattr(p, data_of) for p in mine]
        assert len(mine) == 3, name  # 12 s in pieces answering for 4 s each
        assert [s.keep_start for s in spans] == [0, 4 * rate, 8 * rate] and [s.last for s in spans][-1]
        assert all(a.keep_stop == b.keep_start for a, b in zip(spans, spans[1:], strict=False))
        assert max(len(a) for a in arrays) <= 6 * rate  # a piece never holds more than its part and two margins
        kept = np.concatenate([a[s.keep_start - s.first:s.keep_stop - s.first] for s, a in zip(spans, arrays,
                                                                                               strict=True)])
        if name == "audio":
            assert np.array_equal(kept, whole.audio)  # the same samples as one whole decode
        else:
            assert len(kept) == len(whole.frames) and [p.crop for p in mine] == [whole.crop] * 3

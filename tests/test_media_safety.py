"""Damaged files, playlists, special files and slow decodes: each is noticed and named, none hangs."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from avm.errors import UserError
from avm.media import (
    MEDIA_FORMATS,
    DecodeOptions,
    MediaError,
    content_hash,
    decode,
    decode_audio,
    decode_pieces,
    decode_still,
    ffmpeg_exe,
    probe,
)
from avm.media.source import check_input

DEMO_PHOTO = Path(__file__).resolve().parent.parent / "data" / "demo" / "photos" / "skimage-camera.jpg"


def _remux(src: Path, out: Path, **kwargs: str) -> Path:
    ffmpeg.input(str(src)).output(str(out), c="copy", **kwargs).overwrite_output().global_args(
        "-loglevel", "error").run(cmd=ffmpeg_exe())
    return out


def _cut(src: Path, out: Path, fraction: float = 0.4) -> Path:
    data = src.read_bytes()
    out.write_bytes(data[:int(len(data) * fraction)])
    return out


@pytest.fixture(scope="module")
def damaged(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Remuxes of the 12 s av.mp4, copies of them cut to 40 % or with a garbled middle, and playlists."""
    d = tmp_path_factory.mktemp("damaged")
    av = media_dir / "av.mp4"
    _remux(av, d / "clip.mkv")
    _remux(av, d / "clip.ts")
    _remux(av, d / "faststart.mp4", movflags="+faststart")  # index first: a cut copy still probes as 12 s
    _cut(d / "clip.mkv", d / "cut.mkv")
    _cut(d / "faststart.mp4", d / "cut_faststart.mp4")
    _cut(av, d / "cut.mp4")  # index at the end: cut off
    garbled = bytearray(av.read_bytes())
    lo, hi = int(len(garbled) * 0.4), int(len(garbled) * 0.6)
    garbled[lo:hi] = np.random.default_rng(0).integers(0, 256, hi - lo, dtype=np.uint8).tobytes()
    (d / "garbled.mp4").write_bytes(bytes(garbled))
    (d / "list.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:12\n#EXTINF:12.0,\nclip.ts\n#EXT-X-ENDLIST\n")
    (d / "list.ffconcat").write_text("ffconcat version 1.0\nfile 'clip.mkv'\n")
    return d


@contextlib.contextmanager
def returns_within(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    def too_slow(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _children() -> list[str]:
    """Pids of this process's live children (Linux)."""
    files = Path(f"/proc/{os.getpid()}/task").glob("*/children")
    return [pid for file in files for pid in file.read_text().split()]


def test_healthy_files_have_no_damage(media_dir, damaged):
    strict = DecodeOptions(on_damage="fail")
    files = [media_dir / n for n in ("av.mp4", "video_only.mp4", "audio_only.m4a", "letterbox.mp4")]
    for path in [*files, damaged / "clip.mkv", damaged / "clip.ts", damaged / "faststart.mp4"]:
        assert decode(str(path), strict).damage is None, path
    assert decode_still(str(DEMO_PHOTO), strict).shape == (1, 128, 128)


@pytest.mark.parametrize("name", ["cut.mkv", "cut_faststart.mp4"])
def test_truncated_file_is_kept_partially_by_default(damaged, name):
    media = decode(str(damaged / name), DecodeOptions())
    assert media.info.duration > 11.5
    assert len(media.audio) / 16000 < 7 and len(media.frames) < 2 * 7
    assert re.match(r"decoded \d+\.\d s of 12\.0 s probed \(audio\); decoded \d+\.\d s of 12\.0 s probed \(video\)",
                    media.damage), media.damage
    assert "\n" not in media.damage


@pytest.mark.parametrize("name", ["cut.mkv", "cut_faststart.mp4"])
def test_truncated_file_fails_when_asked(damaged, name):
    with pytest.raises(MediaError, match=r"decoded \d+\.\d s of 12\.0 s probed \(audio\)") as err:
        decode(str(damaged / name), DecodeOptions(on_damage="fail"))
    assert name in str(err.value) and "\n" not in str(err.value)


def test_truncated_mp4_with_its_index_cut_off_is_unreadable(damaged):
    with pytest.raises(MediaError, match="cut.mp4: not a readable media file"):
        decode(str(damaged / "cut.mp4"), DecodeOptions())


def test_garbled_middle_is_damage(damaged):
    path = str(damaged / "garbled.mp4")
    media = decode(path, DecodeOptions())
    assert media.audio is not None and media.frames is not None
    assert "ffmpeg: " in media.damage
    with pytest.raises(MediaError, match="garbled.mp4: .*ffmpeg: "):
        decode(path, DecodeOptions(on_damage="fail"))
    with pytest.raises(MediaError, match="garbled.mp4: ffmpeg: "):
        decode_audio(path, DecodeOptions(on_damage="fail"))


def test_options_are_validated():
    with pytest.raises(UserError, match="^media.on_damage=maybe must be one of partial, fail$"):
        DecodeOptions(on_damage="maybe")
    with pytest.raises(UserError, match="^media.decode_timeout_seconds=-1 is out of range: it must be at least 0.0$"):
        DecodeOptions(decode_timeout_seconds=-1)
    with pytest.raises(UserError, match="allowed_formats is empty"):
        DecodeOptions(allowed_formats=())
    with pytest.raises(UserError, match="must be whole seconds"):
        DecodeOptions(chunk_seconds=10, chunk_margin_seconds=10)


@pytest.mark.parametrize("name,fmt", [("list.m3u8", "hls"), ("list.ffconcat", "concat")])
def test_playlists_are_refused(damaged, name, fmt):
    uri = str(damaged / name)
    message = f"{name}: container format '{fmt}' is not allowed (media.allowed_formats)"
    for call in (lambda: probe(uri), lambda: decode(uri, DecodeOptions()),
                 lambda: decode_audio(uri, DecodeOptions()),
                 lambda: decode(uri, DecodeOptions(), info=probe(str(damaged / "clip.mkv")))):  # ffmpeg's own check
        with pytest.raises(MediaError) as err:
            call()
        assert str(err.value).endswith(message)
    assert probe(uri, allowed_formats=(*MEDIA_FORMATS, fmt)).format == fmt  # allowed only when listed


def test_ordinary_containers_are_allowed(media_dir, damaged):
    formats = {probe(str(p)).format for p in (media_dir / "av.mp4", media_dir / "audio_only.m4a",
                                              damaged / "clip.mkv", damaged / "clip.ts", DEMO_PHOTO)}
    assert formats == {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mpegts", "image2"}


def test_special_files_are_refused_without_being_read(tmp_path):
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.mp4"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    (tmp_path / "zero.mp4").symlink_to("/dev/zero")
    try:
        with returns_within(10):
            for path, kind in [("/dev/zero", "character device"), (str(tmp_path / "zero.mp4"), "character device"),
                               (str(fifo), "FIFO"), (f"file://{fifo}", "FIFO"), (str(sock_path), "socket")]:
                for call in (check_input, probe, content_hash, lambda uri: decode(uri, DecodeOptions())):
                    with pytest.raises(MediaError, match=f"not a regular file \\(a {kind}\\)") as err:
                        call(path)
                    assert path in str(err.value)
    finally:
        sock.close()


def test_symlink_to_a_regular_file_is_fine(media_dir, tmp_path):
    link = tmp_path / "link.mp4"
    link.symlink_to(media_dir / "video_only.mp4")
    assert content_hash(str(link)) == content_hash(str(media_dir / "video_only.mp4"))
    assert decode(str(link), DecodeOptions()).frames is not None


def test_decode_time_limit(media_dir):
    uri = str(media_dir / "av.mp4")
    quick = DecodeOptions(decode_timeout_seconds=0.01)
    with returns_within(10):
        for call in (decode, decode_audio):
            with pytest.raises(MediaError, match=r"av.mp4: decoding took longer than 0.01 s "
                                                 r"\(media.decode_timeout_seconds\)"):
                call(uri, quick)
    assert _children() == []  # the ffmpeg past its time was killed and reaped
    assert decode(uri, DecodeOptions(decode_timeout_seconds=0)).audio is not None  # 0: no limit


def test_a_truncated_long_file_says_so_after_its_pieces(damaged):
    uri, pieces = str(damaged / "cut.mkv"), DecodeOptions(chunk_seconds=2, chunk_margin_seconds=1)
    *streams, closing = decode_pieces(uri, pieces, probe(uri))
    assert streams and closing.empty
    assert re.match(r"decoded \d+\.\d s of 12\.0 s probed \(audio\); decoded \d+\.\d s of 12\.0 s probed \(video\)",
                    closing.damage), closing.damage
    strict = decode_pieces(uri, DecodeOptions(chunk_seconds=2, chunk_margin_seconds=1, on_damage="fail"), probe(uri))
    with pytest.raises(MediaError, match=r"cut.mkv: decoded \d+\.\d s of 12\.0 s probed \(audio\)"):
        list(strict)


def test_decoding_in_pieces_has_the_same_time_limit(media_dir):
    uri = str(media_dir / "av.mp4")
    with returns_within(10), pytest.raises(MediaError, match=r"av.mp4: decoding took longer than 0.01 s"):
        list(decode_pieces(uri, DecodeOptions(decode_timeout_seconds=0.01, chunk_seconds=4, chunk_margin_seconds=1),
                              probe(uri)))
    assert _children() == []  # the ffmpeg past its time was killed and reaped

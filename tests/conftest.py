"""Shared fixtures: small real media files made with real ffmpeg from the bundled demo media."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path

import ffmpeg
import pytest
import uvicorn

from avm.media import ffmpeg_exe

REPO = Path(__file__).resolve().parent.parent
DEMO_MEDIA = REPO / "data" / "demo"


def make_clip(out: Path, *, video: Path | None, audio: Path | None, duration: float, audio_start: float = 0.0,
              size: str = "320x180", pad_to: str | None = None) -> Path:
    """Mux a (looped) picture source and an audio excerpt into an H.264/AAC mp4 with real ffmpeg."""
    streams = []
    if video is not None:
        v = ffmpeg.input(str(video), stream_loop=-1, t=duration)["v:0"] if video.suffix != ".jpg" \
            else ffmpeg.input(str(video), loop=1, t=duration, framerate=25)["v:0"]
        w, h = size.split("x")
        v = v.filter("scale", w, h).filter("setsar", 1)
        if pad_to:
            pw, ph = pad_to.split("x")
            v = v.filter("pad", pw, ph, "(ow-iw)/2", "(oh-ih)/2", color="black")
        streams.append(v.filter("fps", 25).filter("format", "yuv420p"))
    if audio is not None:
        streams.append(ffmpeg.input(str(audio), ss=audio_start, t=duration)["a:0"])
    kwargs = {"t": duration}
    if video is not None:
        kwargs.update(vcodec="libx264", preset="veryfast", crf=28)
    if audio is not None:
        kwargs.update(acodec="aac", audio_bitrate="96k")
    ffmpeg.output(*streams, str(out), **kwargs).overwrite_output().global_args("-loglevel", "error").run(
        cmd=ffmpeg_exe())
    return out


def job_config(name: str, cls: type, out: Path, **overrides: object):
    """Job ``name`` composed as the command line would (``avm <name> key=value ...``), as its typed config."""
    from hydra import compose, initialize_config_dir

    from avm.config import CONFIG_DIR, to_options
    from jobs.schemas import register_configs

    register_configs()
    items = [f"paths.output_dir={out}", *(f"{k}={v}" for k, v in overrides.items())]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return to_options(compose(config_name=name, overrides=items), cls)


def excerpt(src: Path, out: Path, start: float, length: float, size: str = "256x144") -> Path:
    """A re-encoded, rescaled excerpt of ``src`` (a plain pirate copy)."""
    w, h = size.split("x")
    stream = ffmpeg.input(str(src), ss=start, t=length)
    (ffmpeg.output(stream["v:0"].filter("scale", w, h).filter("setsar", 1), stream["a:0"], str(out),
                   vcodec="libx264", preset="veryfast", crf=30, acodec="aac", audio_bitrate="64k")
     .overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    return out


def pirate_copy(out: Path, pieces: list[tuple[Path, float, float]], filler_video: Path, filler_audio: Path) -> Path:
    """Filler, then each borrowed piece ``(source, start, length)`` shrunk and re-encoded, each followed by filler:
    a piece starts at ``6 + sum of the earlier pieces' lengths + 6 per earlier piece`` seconds."""
    parts = [make_clip(out.with_suffix(f".filler{i}.mp4"), video=filler_video, audio=filler_audio, duration=6,
                       audio_start=20 * i) for i in range(len(pieces) + 1)]
    streams = [ffmpeg.input(str(parts[0]))]
    for i, (src, start, length) in enumerate(pieces):
        streams += [ffmpeg.input(str(src), ss=start, t=length), ffmpeg.input(str(parts[i + 1]))]
    joined_parts = []
    for stream in streams:
        joined_parts += [stream["v:0"].filter("scale", 240, 136).filter("setsar", 1).filter("fps", 25),
                         stream["a:0"].filter("aresample", 44100)]
    joined = ffmpeg.concat(*joined_parts, v=1, a=1).node
    (ffmpeg.output(joined[0], joined[1], str(out), vcodec="libx264", preset="veryfast", crf=34, acodec="aac",
                   audio_bitrate="48k").overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReviewServer:
    """The app served by uvicorn on a free loopback port in a thread of this process."""

    def __init__(self, cfg: object, token: str | None = None) -> None:
        from avm.review import create_app

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(create_app(cfg, token), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> ReviewServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the review app did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """A raw GET of ``path`` exactly as written (no normalisation of ``..``)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A handful of generated files: audio+video, video only, audio only, letterboxed, and broken ones."""
    d = tmp_path_factory.mktemp("media")
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    footage = DEMO_MEDIA / "footage"
    make_clip(d / "av.mp4", video=footage / "bottle-detection.mp4", audio=music[0], duration=12)
    make_clip(d / "video_only.mp4", video=footage / "toy-monster.mp4", audio=None, duration=8)
    make_clip(d / "audio_only.m4a", video=None, audio=music[1], duration=10)
    make_clip(d / "letterbox.mp4", video=footage / "toy-monster.mp4", audio=None, duration=4, size="320x136",
              pad_to="320x180")
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("this is not a video\n")
    return d


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of two CPUs for one test module (``pytestmark = pytest.mark.usefixtures("local_ray")``)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()

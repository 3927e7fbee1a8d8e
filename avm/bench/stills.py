"""Short clips of one picture with the benchmark's pirate edits, for evaluating visual models frame by frame.

The picture (a still, or one moment of a video) is fitted to the canvas exactly as `avm bench make` fits
footage and photos, the video filters of the named :data:`avm.bench.edits.EDITS` are applied with the given
parameters, and the clip is encoded to H.264 with the edits' lossy settings. Decoding it with avm.media gives
the frame a query would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import ffmpeg

from avm.bench.compose import AV, Canvas, Encoding, Stream, encode, fit_video, hold_video, open_span
from avm.bench.edits import EDITS, Edit, EditContext, in_order


def picture_video(source: Path, at: float | None, canvas: Canvas, duration: float) -> Stream:
    """``duration`` s of ``source`` on the canvas: a still held, or a video from ``at`` s."""
    if at is None:
        video = ffmpeg.input(str(source), loop=1, framerate=canvas.fps, t=duration)["v:0"]
    else:
        video = open_span(source, at, duration).video
    return hold_video(fit_video(video, canvas), duration)


def silence(canvas: Canvas, duration: float) -> Stream:
    return ffmpeg.input(f"anullsrc=r={canvas.sample_rate}:cl={canvas.channel_layout}", f="lavfi", t=duration)["a:0"]


def still_frame(source: Path, at: float | None) -> Stream:
    """One frame of ``source``: the still itself, or the video's frame at ``at`` s."""
    return open_span(source).video if at is None else open_span(source, at).video.filter("trim", end_frame=1)


def edited_clip(source: Path, edits: Sequence[Edit], path: Path, *, at: float | None = None,
                cover: Path | None = None, cover_at: float | None = None, canvas: Canvas | None = None,
                duration: float = 1.0) -> Path:
    """Write a ``duration`` s clip of ``source`` (a still, or a video from ``at`` s) with ``edits`` to ``path``.

    Only picture edits apply (sound edits are ignored); ``cover`` (a still, or a video from ``cover_at`` s)
    is the other picture that picture-in-picture and logo edits need; ``canvas`` defaults to :class:`Canvas`'s.
    """
    canvas = canvas or Canvas()

    def cover_av() -> AV:
        if cover is None:
            raise ValueError(f"{source}: edits {[e.name for e in edits]} need a cover picture")
        return picture_video(cover, cover_at, canvas, duration), silence(canvas, duration)

    ctx = EditContext(canvas=canvas, seconds=duration, signal=lambda: silence(canvas, duration), cover=cover_av,
                      cover_still=(lambda: still_frame(cover, cover_at)) if cover is not None else None)
    video, encoding = picture_video(source, at, canvas, duration), Encoding()
    for edit in in_order(edits):
        kind = EDITS[edit.name]
        if kind.video is not None:
            video = kind.video(video, edit.args, ctx)
        if kind.lossy is not None:
            encoding = replace(encoding, **kind.lossy(edit.args))
    return encode(video.filter("format", "yuv420p"), silence(canvas, duration), path, canvas, encoding, duration)

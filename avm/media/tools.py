"""Locate the ffmpeg binary: a system ffmpeg when present, else the one inside the imageio-ffmpeg wheel."""

from __future__ import annotations

import functools
import os
import shutil


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg executable to use.

    ``AVM_FFMPEG`` overrides; then a system ``ffmpeg`` on PATH; then the static build shipped in
    the ``imageio-ffmpeg`` wheel, so a pip-only install still decodes.
    """
    override = os.environ.get("AVM_FFMPEG")
    if override:
        return override
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()

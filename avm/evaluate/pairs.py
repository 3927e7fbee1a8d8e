"""The evaluator's working form of a list of :class:`avm.types.Segment`: a *pair frame*.

The metric kernels (:mod:`avm.evaluate.hackathon`, :mod:`avm.evaluate.vsc`) and the breakdown are vectorised
over a DataFrame with the columns of ``avm.schema.PAIR_COLUMNS`` plus ``score``: ids as ``str`` without a
trailing video extension (``"abc.mp4"`` and ``"abc"`` are the same video), times and scores as float64, rows
numbered from 0. :func:`pairs_frame` is the one conversion from segments to that form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from avm.results import whole_seconds
from avm.schema import PAIR_COLUMNS
from avm.types import Segment

SCORE = "score"
PAIR_KEY = ["query_id", "ref_id"]
FRAME_COLUMNS = [*PAIR_COLUMNS, SCORE]

_VIDEO_EXT = re.compile(r"\.(mp4|m4v|mkv|mov|avi|webm|flv|wmv|mpe?g)$", re.IGNORECASE)


def strip_video_ext(video_id: object) -> str:
    """``"abc.mp4"`` -> ``"abc"``; surrounding whitespace is dropped as well."""
    return _VIDEO_EXT.sub("", str(video_id).strip())


def pairs_frame(segments: Iterable[Segment]) -> pd.DataFrame:
    """The pair frame of ``segments`` (``FRAME_COLUMNS``, in their order)."""
    segments = list(segments)
    frame = {}
    for name in FRAME_COLUMNS:
        values = [getattr(s, name) for s in segments]
        frame[name] = list(map(strip_video_ext, values)) if name in PAIR_KEY else np.asarray(values, dtype=np.float64)
    return pd.DataFrame(frame, columns=FRAME_COLUMNS)


def to_whole_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a pair frame with its bounds as a submission CSV holds them (``avm.results.whole_seconds``)."""
    out = frame.copy()
    for side in ("query", "ref"):
        out[f"{side}_start"], out[f"{side}_end"] = whole_seconds(out[f"{side}_start"].to_numpy(),
                                                                 out[f"{side}_end"].to_numpy())
    return out

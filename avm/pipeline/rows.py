"""The typed rows the stages pass on: an input file, its decoded media, its fingerprints, a query's segments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from avm.media import DecodedMedia, MediaInfo
from avm.pipeline.stage import Row
from avm.types import Fingerprints, Segment


@dataclass
class MediaRow:
    """One input file and its catalog id."""

    uri: str
    video_id: str


@dataclass(kw_only=True)
class Part:
    """Which part of its file a row is: a long file is decoded and fingerprinted in parts that travel apart.

    ``parts`` is set on the file's last part only (0 on the others, which may come in any order); ``token`` tells
    the parts of one decode of a file from those of another (the same file listed twice)."""

    part: int = 0
    parts: int = 1
    token: str = ""


@dataclass
class DecodedRow(Part, Row):
    """One file decoded, or one part of it (``media`` is None when it failed)."""

    uri: str
    video_id: str
    content_hash: str = ""
    media: DecodedMedia | None = None

    @property
    def damage(self) -> str:
        """Why the file decoded only in part ("" when whole)."""
        return (self.media.damage or "") if self.media is not None else ""


@dataclass
class FingerprintedRow(Part, Row):
    """One file's interval fingerprints per configured modality (empty where the file lacks that stream), or
    those of one part of it."""

    uri: str
    video_id: str
    content_hash: str = ""
    info: MediaInfo | None = None  # what the probe found (None when decoding failed)
    prints: dict[str, Fingerprints] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)  # of every configured modality's model
    damage: str = ""  # why the file decoded only in part ("" when whole)

    @property
    def duration(self) -> float:
        return self.info.duration if self.info is not None else 0.0

    @property
    def streams_json(self) -> str:
        return self.info.streams_json() if self.info is not None else "[]"


@dataclass
class CatalogRow:
    """A catalog video to match against the rest of the catalog (its fingerprints are read from the store)."""

    video_id: str


@dataclass
class QueryResult(Row):
    """The segment pairs found for one query."""

    video_id: str
    duration: float = 0.0  # seconds of media fingerprinted for this query (0 for a catalog video)
    segments: list[Segment] = field(default_factory=list)


def lost_inputs(sent: Sequence[MediaRow | CatalogRow], came_back: Collection[str]) -> list[tuple[str, str]]:
    """(id, reason) of every input whose row never came out of the stages: a worker lost part way (with the parts
    of a long file it was assembling) leaves no row behind, so a job counts these as failed, and stores nothing
    for them."""
    return [(row.video_id, f"{getattr(row, 'uri', row.video_id)}: no result came back from the workers (one was "
                           f"lost part way); nothing stored for it, run the job again")
            for row in sent if row.video_id not in came_back]

"""What a reader searches: one consistent view of the catalog, taken once per job."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CatalogSnapshot:
    """The active model version of each modality and, per modality, the write batch that holds each searchable
    video's current fingerprints.

    Rows of any other batch are leftovers (of an interrupted or superseded write, or of a video that is no longer
    searchable) and are never returned, so a scan sees whole videos only, whatever writes run beside it.
    """

    versions: dict[str, str] = field(default_factory=dict)  # modality → model version searched
    batches: dict[str, dict[str, int]] = field(default_factory=dict)  # modality → video id → batch id
    durations: dict[str, float] = field(default_factory=dict)  # searchable video → duration (s)

    def videos(self) -> list[str]:
        """The searchable videos (status ok or partial), sorted."""
        return sorted(self.durations)

    def batch_of(self, modality: str, video_id: str) -> int | None:
        """The batch holding ``video_id``'s current fingerprints of ``modality`` (None: it has none)."""
        return self.batches.get(modality, {}).get(video_id)

    def current(self, modality: str, video_ids: np.ndarray, batch_ids: np.ndarray) -> np.ndarray:
        """Which of the rows (video id, batch id) are current fingerprints."""
        live = self.batches.get(modality, {})
        return np.fromiter((live.get(v, -1) == b for v, b in zip(video_ids, batch_ids, strict=True)), bool,
                           count=len(video_ids))

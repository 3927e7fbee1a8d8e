"""Progress and throughput logging for long jobs."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger("avm.progress")


@dataclass
class Progress:
    """Counts files and media seconds; logs a line at most every ``every_seconds``."""

    label: str
    total: int
    every_seconds: float = 5.0
    done: int = 0
    failed: int = 0
    media_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    _last: float = 0.0

    def update(self, files: int = 1, media_seconds: float = 0.0, failed: int = 0) -> None:
        self.done += files
        self.failed += failed
        self.media_seconds += media_seconds
        now = time.perf_counter()
        if now - self._last >= self.every_seconds or self.done == self.total:
            self._last = now
            log.info("%s: %d/%d files, %.2f h media, %.0f× realtime, %d failed", self.label, self.done, self.total,
                     self.media_seconds / 3600, self.realtime_factor, self.failed)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def realtime_factor(self) -> float:
        return self.media_seconds / self.elapsed if self.elapsed > 0 else 0.0

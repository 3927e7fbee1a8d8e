"""Progress of long jobs: a log line with throughput and ETA every few seconds, and a bar on a terminal."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

from tqdm import tqdm

log = logging.getLogger("avm.progress")


def duration_text(seconds: float) -> str:
    """``seconds`` as ``1 h 05 min``, ``3 min 20 s`` or ``12 s``."""
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


@dataclass
class Progress:
    """Counts files and media seconds; logs a line at most every ``every_seconds`` with the ETA (from the files
    done so far), and draws a bar when stderr is a terminal."""

    label: str
    total: int
    every_seconds: float = 5.0
    done: int = 0
    failed: int = 0
    media_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    _last: float = 0.0
    _bar: tqdm | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if sys.stderr.isatty():
            self._bar = tqdm(total=self.total, desc=self.label, unit="file", leave=False)

    def add_total(self, files: int) -> None:
        """More files to do than announced (a job that finds work as it goes)."""
        self.total += files
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def update(self, files: int = 1, media_seconds: float = 0.0, failed: int = 0) -> None:
        self.done += files
        self.failed += failed
        self.media_seconds += media_seconds
        if self._bar is not None:
            self._bar.update(files)
            self._bar.set_postfix(media_h=f"{self.media_seconds / 3600:.2f}", failed=self.failed, refresh=False)
        now = time.perf_counter()
        if now - self._last >= self.every_seconds or self.done == self.total:
            self._last = now
            eta = "done" if self.done >= self.total else f"ETA {duration_text(self.eta_seconds)}"
            log.info("%s: %d/%d files, %.2f h media, %.0f× realtime, %d failed, %s elapsed, %s", self.label,
                     self.done, self.total, self.media_seconds / 3600, self.realtime_factor, self.failed,
                     duration_text(self.elapsed), eta)
        if self.done >= self.total and self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def eta_seconds(self) -> float:
        """Seconds left at the pace of the files done so far (0 before the first file, and when done)."""
        if self.done <= 0 or self.done >= self.total:
            return 0.0
        return self.elapsed / self.done * (self.total - self.done)

    @property
    def realtime_factor(self) -> float:
        return self.media_seconds / self.elapsed if self.elapsed > 0 else 0.0

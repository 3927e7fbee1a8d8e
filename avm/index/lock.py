"""The store's commit lock: write jobs commit one at a time, so a commit can clear every leftover row it sees.

On a local store the lock is an ``flock`` on a file in the database folder: the kernel drops it when its holder
dies, even under ``kill -9``. Object stores (S3) have no such lock; there commits are not serialised and leftovers
are removed only once they are older than ``IndexOptions.leftover_grace_minutes``. Search never returns leftovers
in either case (see :class:`avm.index.snapshot.CatalogSnapshot`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

LOCK_FILE = ".avm-commit.lock"


class CommitLock:
    """An exclusive, re-entrant lock over one store's commits (a no-op for remote stores)."""

    def __init__(self, local_dir: str | None) -> None:
        self.path = os.path.join(local_dir, LOCK_FILE) if local_dir else None
        self._depth = 0
        self._handle: int | None = None

    @property
    def exclusive(self) -> bool:
        """Whether holding the lock really keeps every other writer out (a local store)."""
        return self.path is not None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the ``with`` block; waits (and says so) while another job commits."""
        if self.path is None or self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)  # only writers take the lock
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another job's commit to finish (%s)", self.path)
                started = time.monotonic()
                fcntl.flock(handle, fcntl.LOCK_EX)
                log.info("commit lock acquired after %.1f s", time.monotonic() - started)
            self._depth, self._handle = 1, handle
            yield
        finally:
            self._depth, self._handle = 0, None
            os.close(handle)  # closing the descriptor releases the flock

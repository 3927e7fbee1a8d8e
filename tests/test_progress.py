"""Progress lines of long jobs: throughput, elapsed time and an ETA from the pace so far."""

from __future__ import annotations

import logging
import time

from avm.pipeline.progress import Progress, duration_text


def test_duration_text():
    assert [duration_text(s) for s in (12.4, 200, 3900)] == ["12 s", "3 min 20 s", "1 h 05 min"]


def test_eta_follows_the_pace_of_the_files_done(caplog):
    progress = Progress("ingest", total=4, every_seconds=0.0, started=time.perf_counter() - 10.0)
    assert progress.eta_seconds == 0.0  # nothing done yet: no pace to go by
    with caplog.at_level(logging.INFO, logger="avm.progress"):
        progress.update(media_seconds=60.0)
        progress.update(media_seconds=60.0)
        assert 9.5 < progress.eta_seconds < 12.0  # 2 of 4 files in ~10 s: ~10 s to go
        assert "2/4 files" in caplog.records[-1].getMessage() and "ETA 1" in caplog.records[-1].getMessage()
        progress.add_total(2)
        progress.update(files=4)
    assert progress.eta_seconds == 0.0 and caplog.records[-1].getMessage().endswith("done")

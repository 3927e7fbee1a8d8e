"""Segment vectors for fingerprints stored without them (a store written before they existed): derived from the
stored fingerprints and written under the same batch ids, so they are current exactly as long as the fingerprints
they summarise. Writes hold the store's commit lock, so only stores that have one (local folders) are done."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc

from avm.index.sql import sql_list
from avm.index.store import FingerprintStore, chunks
from avm.types import Fingerprints

log = logging.getLogger(__name__)

VIDEOS_PER_WRITE = 200  # videos whose fingerprints are read (and segment rows written) at once


def write_missing_segments(store: FingerprintStore, modality_versions: dict[str, str]) -> dict[str, int]:
    """Derive and store the segment vectors of every searchable video's current fingerprints of
    ``modality_versions`` that have none (when ``index.segment_window`` > 0); returns the videos done per
    modality."""
    window = store.opts.segment_window
    done: dict[str, int] = {}
    if window <= 0:
        return done
    with store.lock.held():
        store.refresh()
        for modality, version in modality_versions.items():
            prints = store.fingerprints(modality, version)
            missing = store.missing_segments(modality, version) if prints is not None else {}
            if missing and not store.lock.exclusive:  # two jobs deriving one batch at once would store it twice
                log.warning("%d %s videos at %s have no segment vectors; they are derived only on stores with a "
                            "commit lock (local folders): scans of this store search the whole catalog",
                            len(missing), modality, store.opts.uri)
                continue
            for part in chunks(sorted(missing), VIDEOS_PER_WRITE):
                rows = (prints.search().where(f"video_id IN {sql_list(part)}")
                        .select(["video_id", "batch_id", "t_start", "t_end", "vector", "model_version"])
                        .limit(None).to_arrow())
                out = []
                for video_id in part:
                    mine = rows.filter(pc.and_(pc.equal(rows["video_id"], video_id),
                                               pc.equal(rows["batch_id"], missing[video_id]))).sort_by("t_start")
                    if mine.num_rows:
                        fp = Fingerprints.from_rows(modality, mine)
                        out.append(fp.segments(window).to_rows(video_id, missing[video_id]))
                if out:
                    segments = pa.concat_tables(out)
                    dim = segments.schema.field("vector").type.list_size
                    store.fingerprints_for_writing(modality, version, dim, segments=True).add(segments)
            if missing:
                done[modality] = len(missing)
                log.info("derived the segment vectors of %d %s videos stored without them", len(missing), modality)
    store.refresh()
    return done

"""Index stage: LanceDB schema, batched idempotent writes, ANN index builds and k-NN search (LanceDB only here)."""

from avm.index.calibrations import read_calibration, read_shared_lines, write_calibration, write_shared_lines
from avm.index.maintenance import (
           DeleteReport,
           audit_rows,
           clear_leftovers,
           delete_videos,
           finalize,
           leftover_rows,
           store_bytes,
)
from avm.index.options import IndexOptions, SearchOptions
from avm.index.sampling import IntervalFilter, impostor_similarities, sample_vectors
from avm.index.search import knn
from avm.index.segments import write_missing_segments
from avm.index.snapshot import CatalogSnapshot
from avm.index.sql import sql_list, sql_literal
from avm.index.store import FingerprintStore, ModelMismatch
from avm.index.stream import current_videos
from avm.index.verdicts import add_verdict, read_verdicts, verdict_rows
from avm.index.writer import BatchedWriter, store_videos, video_row

__all__ = ["BatchedWriter", "CatalogSnapshot", "DeleteReport", "FingerprintStore", "IndexOptions", "IntervalFilter",
           "ModelMismatch", "SearchOptions", "add_verdict", "audit_rows", "clear_leftovers", "current_videos", "delete_videos", "finalize",
           "impostor_similarities", "knn", "leftover_rows", "read_calibration", "read_shared_lines", "read_verdicts", "sample_vectors", "sql_list",
           "sql_literal",
           "store_bytes", "store_videos", "verdict_rows", "video_row", "write_calibration", "write_missing_segments",
           "write_shared_lines"]

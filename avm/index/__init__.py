"""Index stage: LanceDB schema, batched idempotent writes, ANN index builds and k-NN search (LanceDB only here)."""

from avm.index.calibrations import read_calibration, write_calibration
from avm.index.options import IndexOptions, SearchOptions
from avm.index.sampling import IntervalFilter, impostor_similarities
from avm.index.search import knn
from avm.index.sql import sql_list, sql_literal
from avm.index.store import FingerprintStore
from avm.index.writer import BatchedWriter

__all__ = ["BatchedWriter", "FingerprintStore", "IndexOptions", "IntervalFilter", "SearchOptions", "impostor_similarities",
           "knn", "read_calibration", "sql_list", "sql_literal", "write_calibration"]

"""Index stage: LanceDB schema, batched idempotent writes, ANN index builds and k-NN search."""

from avm.index.search import HITS_SCHEMA, impostor_similarities, knn
from avm.index.store import FingerprintStore, IndexOptions, fingerprint_rows
from avm.index.writer import BatchedWriter

__all__ = ["HITS_SCHEMA", "BatchedWriter", "FingerprintStore", "IndexOptions", "fingerprint_rows", "impostor_similarities", "knn"]

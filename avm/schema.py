"""Every table and file format AVM writes, in one place, with versions.

Fingerprints live in one LanceDB table per modality (``fingerprints_audio``, ``fingerprints_visual``) so that
each vector space gets its own ANN index; a ``videos`` table records every file an ingest has seen.
Scan results are a Parquet dataset of segment pairs.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

MODALITIES = ("audio", "visual")

VIDEO_STATUS_OK = "ok"
VIDEO_STATUS_FAILED = "failed"
VIDEO_STATUS_DUPLICATE = "duplicate"


def fingerprint_table_name(modality: str) -> str:
    """Name of the LanceDB table that holds one modality's interval fingerprints."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    return f"fingerprints_{modality}"


def fingerprint_schema(dim: int) -> pa.Schema:
    """Schema of a fingerprints table: one row per interval embedding (L2-normalised, float16)."""
    return pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("modality", pa.string(), nullable=False),
            pa.field("t_start", pa.float32(), nullable=False),
            pa.field("t_end", pa.float32(), nullable=False),
            pa.field("vector", pa.list_(pa.float16(), dim), nullable=False),
            pa.field("model_version", pa.string(), nullable=False),
        ],
        metadata={"avm_schema_version": str(SCHEMA_VERSION)},
    )


VIDEOS_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("duration", pa.float64()),
        pa.field("streams", pa.string()),  # JSON: [{"type": "audio", "codec": ..., ...}, ...]
        pa.field("content_hash", pa.string()),
        pa.field("status", pa.string(), nullable=False),  # ok | failed | duplicate
        pa.field("error", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("model_versions", pa.string()),  # JSON: {"audio": "...", "visual": "..."}
        pa.field("n_intervals", pa.int64()),
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# Match thresholds calibrated on one state of the catalog (avm.match.calibration), so that later scans of
# the same catalog with the same settings reuse them: key = digest of table versions and settings.
CALIBRATION_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("value", pa.string(), nullable=False),  # JSON
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# One row per reported segment pair (avm.types.Segment plus the run id). Times are seconds from each file's start.
MATCHES_SCHEMA = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("query_start", pa.float64(), nullable=False),
        pa.field("query_end", pa.float64(), nullable=False),
        pa.field("ref_id", pa.string(), nullable=False),
        pa.field("ref_start", pa.float64(), nullable=False),
        pa.field("ref_end", pa.float64(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("modality", pa.string(), nullable=False),  # audio | visual | audio+visual
        pa.field("n_hits", pa.int64(), nullable=False),
        pa.field("speed", pa.float64(), nullable=False),  # reference seconds per query second (1: same speed)
        pa.field("run_id", pa.string(), nullable=False),
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# k-NN hits of one query's intervals (avm.types.Hits): query_index is the row of the query's fingerprints.
HITS_SCHEMA = pa.schema([
    pa.field("query_index", pa.int32()),
    pa.field("video_id", pa.string()),
    pa.field("t_start", pa.float32()),
    pa.field("t_end", pa.float32()),
    pa.field("similarity", pa.float32()),  # dot product of L2-normalised vectors
])

# Columns of segment-pair tables used by the evaluator (predictions and ground truth alike).
PAIR_COLUMNS = ("query_id", "query_start", "query_end", "ref_id", "ref_start", "ref_end")

# Hackathon CSV formats: our submission writer and the organisers' ground truth.
HACKATHON_PRED_COLUMNS = ("ID-piracy", "SEG-piracy", "ID-license", "SEG-license")
HACKATHON_GT_COLUMNS = ("ID_piracy", "segment", "ID_license", "segment.1")

"""Every table and file format AVM writes, in one place, with versions.

Fingerprints live in one LanceDB table per modality and model version (``fingerprints_audio__<version>``) so
that each vector space gets its own ANN index and a new model is indexed beside the one in use. A ``videos`` table
records every file an ingest has seen; ``fingerprint_sets`` says which write batch holds the current fingerprints
of each (video, modality, model version): rows of any other batch are leftovers that search never returns. The
``catalog`` table holds the active model versions; ``audit`` records every takedown.
Scan results are a Parquet dataset of segment pairs.
"""

from __future__ import annotations

import re

import pyarrow as pa

SCHEMA_VERSION = 2

MODALITIES = ("audio", "visual")

VIDEO_STATUS_OK = "ok"
VIDEO_STATUS_FAILED = "failed"
VIDEO_STATUS_DUPLICATE = "duplicate"
VIDEO_STATUS_PARTIAL = "partial"  # damaged file: the part that decoded is fingerprinted and searchable
LIVE_STATUSES = (VIDEO_STATUS_OK, VIDEO_STATUS_PARTIAL)  # videos whose fingerprints are searched
VIDEO_STATUSES = (VIDEO_STATUS_OK, VIDEO_STATUS_PARTIAL, VIDEO_STATUS_FAILED, VIDEO_STATUS_DUPLICATE)


FINGERPRINTS_PREFIX = "fingerprints_"


def fingerprint_table_name(modality: str, model_version: str) -> str:
    """Name of the LanceDB table that holds one modality's interval fingerprints made by one model version."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    return f"{FINGERPRINTS_PREFIX}{modality}__{re.sub(r'[^A-Za-z0-9_]', '_', model_version)}"


SEGMENTS_SUFFIX = "__segments"


def segment_table_name(modality: str, model_version: str) -> str:
    """Name of the table beside :func:`fingerprint_table_name`'s that holds the same fingerprints' segment vectors
    (:meth:`avm.types.Fingerprints.segments`; same schema, same write batches)."""
    return fingerprint_table_name(modality, model_version) + SEGMENTS_SUFFIX


def fingerprint_schema(dim: int) -> pa.Schema:
    """Schema of a fingerprints table: one row per interval embedding (L2-normalised, float16), tagged with the
    write batch that stored it."""
    return pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("batch_id", pa.int64(), nullable=False),
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
        pa.field("file_size", pa.int64()),  # bytes of a local file when ingested (None for remote URIs)
        pa.field("file_mtime", pa.float64()),  # its modification time (s since the epoch)
        pa.field("status", pa.string(), nullable=False),  # ok | partial | failed | duplicate
        pa.field("error", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("model_versions", pa.string()),  # JSON: {"audio": "...", "visual": "..."}
        pa.field("n_intervals", pa.int64()),
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# Which write batch holds the current fingerprints of a (video, modality, model version): one row each, keyed by
# set_key = "<modality>/<model version>/<video id>"; n_intervals may be 0 (the file lacks that stream).
FINGERPRINT_SETS_SCHEMA = pa.schema(
    [
        pa.field("set_key", pa.string(), nullable=False),
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("modality", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("batch_id", pa.int64(), nullable=False),
        pa.field("n_intervals", pa.int64(), nullable=False),
        pa.field("written_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# Catalog settings as JSON under a key: "active" (model version per modality and the previous ones), and
# "index/<table>" (rows when its ANN index was last trained).
CATALOG_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),  # JSON
        pa.field("updated_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# One row per video removed by a takedown: who, when, what, why.
AUDIT_SCHEMA = pa.schema(
    [
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("action", pa.string(), nullable=False),  # delete
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("uri", pa.string()),
        pa.field("user", pa.string(), nullable=False),
        pa.field("host", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("details", pa.string()),  # JSON: rows removed per table
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# Lines of content shared between catalog videos (avm.match.shared), found by searching one video's intervals
# among the others: kept per (settings key, video, its fingerprints' batch), so that a later calibration searches
# only the videos added or re-fingerprinted since. A row with a null other_id records a video searched that
# shares nothing.
SHARED_LINES_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),  # digest of the model version and the search settings
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("batch_id", pa.int64(), nullable=False),
        pa.field("other_id", pa.string()),
        pa.field("other_batch_id", pa.int64()),  # the batch of other_id's fingerprints the line was found in
        pa.field("start", pa.float64()),  # the shared stretch in video_id (s)
        pa.field("end", pa.float64()),
        pa.field("offset", pa.float64()),  # where the same content lies in other_id: start + offset
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

# A segment pair's sides and scores (avm.types.Segment). Times are seconds from each file's start.
SEGMENT_FIELDS = [
    pa.field("query_id", pa.string(), nullable=False),
    pa.field("query_start", pa.float64(), nullable=False),
    pa.field("query_end", pa.float64(), nullable=False),
    pa.field("ref_id", pa.string(), nullable=False),
    pa.field("ref_start", pa.float64(), nullable=False),
    pa.field("ref_end", pa.float64(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    pa.field("modality", pa.string(), nullable=False),  # the evidence: audio | visual | audio+visual
    pa.field("n_hits", pa.int64(), nullable=False),
    pa.field("speed", pa.float64(), nullable=False),  # reference seconds per query second (1: same speed)
]

# One row per reported segment pair, with its run and both files.
MATCHES_SCHEMA = pa.schema(
    [
        *SEGMENT_FIELDS,
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("query_uri", pa.string()),  # the query file (None where unknown)
        pa.field("ref_uri", pa.string()),  # the reference's file as the catalog holds it
    ],
    metadata={"avm_schema_version": str(SCHEMA_VERSION)},
)

# A reviewer's verdict on one reported pair of a run (avm.types.Verdict; the pair as it was judged), appended,
# never rewritten: the latest row of a (run, pair) is its verdict, the older ones its history.
VERDICTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        *SEGMENT_FIELDS,
        pa.field("verdict", pa.string(), nullable=False),  # copy | not_copy | unsure
        pa.field("note", pa.string()),
        pa.field("reviewer", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
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

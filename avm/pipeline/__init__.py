"""Pipeline: the stages (decode, fingerprint, assemble, query) over typed rows, and the jobs that run them.

The stages and :func:`match_file` run in this process without Ray; ``avm.pipeline.runner`` (ingest, scan) runs
them on Ray Data through ``avm.pipeline.ray_adapter``, the only module that imports Ray.
"""

from avm.pipeline.config import DemoConfig, IngestConfig, MatchFileConfig, NightlyConfig, RayOptions, ScanConfig
from avm.pipeline.inprocess import fingerprint_file, match_file
from avm.pipeline.rows import CatalogRow, DecodedRow, FingerprintedRow, MediaRow, QueryResult
from avm.pipeline.stage import Row, Stage, StageResources, run_stages
from avm.pipeline.stages import AssembleStage, DecodeStage, FingerprintStage, QueryStage, fingerprinting_stages

__all__ = ["AssembleStage", "CatalogRow", "DecodeStage", "DecodedRow", "DemoConfig", "FingerprintStage", "FingerprintedRow",
           "IngestConfig", "MatchFileConfig", "MediaRow", "NightlyConfig", "QueryResult", "QueryStage", "RayOptions", "Row",
           "ScanConfig", "Stage", "StageResources", "fingerprint_file", "fingerprinting_stages", "match_file",
           "run_stages"]

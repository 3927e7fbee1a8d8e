"""Fingerprint stage: decoded streams → contextual embeddings → pooled, L2-normalised interval embeddings."""

from avm.fingerprint.extract import FingerprintOptions, Fingerprinter
from avm.fingerprint.pooling import IntervalFingerprints, PoolingOptions, pool_intervals

__all__ = ["FingerprintOptions", "Fingerprinter", "IntervalFingerprints", "PoolingOptions", "pool_intervals"]

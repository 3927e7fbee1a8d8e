"""Fingerprint stage: decoded streams → contextual embeddings → pooled, L2-normalised interval embeddings."""

from avm.fingerprint.extract import Fingerprinter
from avm.fingerprint.options import FingerprintOptions, ModalityModel
from avm.fingerprint.pooling import PoolingOptions, pool_intervals

__all__ = ["FingerprintOptions", "Fingerprinter", "ModalityModel", "PoolingOptions", "pool_intervals"]

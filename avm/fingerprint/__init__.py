"""Fingerprint stage: decoded streams → contextual embeddings → pooled, L2-normalised interval embeddings."""

from avm.fingerprint.extract import Fingerprinter, fingerprint_version, load_model
from avm.fingerprint.options import FingerprintOptions, ModalityModel
from avm.fingerprint.pooling import PoolingOptions, pool_intervals
from avm.fingerprint.projection import Projection, fit_on_stored, fit_projection

__all__ = ["FingerprintOptions", "Fingerprinter", "ModalityModel", "PoolingOptions", "Projection", "fingerprint_version",
           "fit_on_stored", "fit_projection", "load_model", "pool_intervals"]

"""Compact fingerprints: a fixed linear projection of a model's interval embeddings to fewer dimensions.

The basis is the top eigenvectors of the *uncentred* second-moment matrix of embeddings from training media
(``avm fit-projection``), i.e. the rank-``dim`` subspace that keeps dot products best in the least-squares
sense. It is uncentred on purpose: the embeddings share a large mean direction, and keeping it keeps the
similarity scale of the full model (unrelated intervals stay about as similar as before), so thresholds set for
the model hold for its projection. Projected vectors are L2-normalised again and stored as float16.

A projection is part of the fingerprint's version (``<model version>+pca<dim>-<digest>``): a catalog built
with one projection never mixes with another, and the file records the model version it was fitted on.

A projection fitted on a catalog's *stored* fingerprints (:func:`fit_on_stored`, ``avm fit-projection
projection.source=catalog``) also keeps the step from those stored vectors (``stored_basis``) and their version
(``fitted_on``), so a reindex can derive the new fingerprints from the stored ones without decoding any media.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avm.paths import PACKAGE_ROOT, resolve_path


@dataclass(frozen=True)
class Projection:
    """A basis [model dim, dim] fitted on embeddings of ``model_version``; ``energy`` is the share of their
    squared norm it keeps."""

    basis: np.ndarray
    model_version: str
    energy: float = 1.0
    fitted_on: str = ""  # the fingerprint version of the stored vectors it was fitted on ("": the model's own)
    stored_basis: np.ndarray | None = None  # [stored dim, dim]: the step from those stored vectors

    @property
    def dim(self) -> int:
        """Dimensions of the projected fingerprints."""
        return int(self.basis.shape[1])

    @property
    def tag(self) -> str:
        """``pca<dim>-<digest of the basis>``: what the fingerprint version adds for this projection."""
        digest = hashlib.sha256(np.ascontiguousarray(self.basis, np.float32).tobytes()).hexdigest()[:10]
        return f"pca{self.dim}-{digest}"

    def version(self, model_version: str) -> str:
        """The fingerprint version of ``model_version`` followed by this projection."""
        return f"{model_version}+{self.tag}"

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Project [n, model dim] vectors and L2-normalise them again (float16 [n, dim])."""
        return _project(vectors, self.basis)

    def derives_from(self, version: str) -> bool:
        """Whether fingerprints of ``version`` (as stored) can be projected to this one (:meth:`derive`)."""
        return self.stored_basis is not None and bool(version) and self.fitted_on == version

    def derive(self, stored: np.ndarray) -> np.ndarray:
        """This projection's fingerprints (float16 [n, dim]) from stored fingerprints of ``fitted_on``: the stored
        vectors are the model's embeddings already projected and normalised, and normalising commutes with a
        linear map, so this equals :meth:`apply` on the embeddings up to float16 rounding."""
        if self.stored_basis is None:
            raise ValueError(f"projection {self.tag} was not fitted on stored fingerprints")
        return _project(stored, self.stored_basis)

    def save(self, path: str | Path) -> None:
        """Write the projection as ``.npz`` (basis, model version, energy, and what it was fitted on)."""
        stored = np.zeros((0, 0), np.float32) if self.stored_basis is None else self.stored_basis
        np.savez(path, basis=self.basis.astype(np.float32), model_version=np.array(self.model_version),
                 energy=np.array(self.energy), fitted_on=np.array(self.fitted_on),
                 stored_basis=stored.astype(np.float32))

    @classmethod
    def load(cls, path: str | Path) -> Projection:
        """Read a projection written by :meth:`save` (a relative path not found from the working directory is
        read from the package root)."""
        found = resolve_path(path)
        if not found.is_file():
            raise FileNotFoundError(f"projection {str(path)!r} not found (nor under {PACKAGE_ROOT})")
        with np.load(found) as saved:
            stored = saved["stored_basis"].astype(np.float32) if "stored_basis" in saved else None
            return cls(saved["basis"].astype(np.float32), str(saved["model_version"]), float(saved["energy"]),
                       str(saved["fitted_on"]) if "fitted_on" in saved else "",
                       stored if stored is not None and stored.size else None)


def _project(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``vectors @ basis``, each row L2-normalised again, as float16."""
    projected = np.asarray(vectors, np.float32) @ basis
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    return (projected / np.maximum(norms, 1e-12)).astype(np.float16)


def fit_projection(vectors: np.ndarray, dim: int, model_version: str) -> Projection:
    """The rank-``dim`` uncentred PCA basis of ``vectors`` [n, model dim] (see the module docstring).

    Each basis vector's sign is fixed (largest entry positive) so that a refit on the same data gives the same
    basis and the same version.
    """
    data = np.asarray(vectors, np.float64)
    if data.ndim != 2 or not 0 < dim <= data.shape[1]:
        raise ValueError(f"cannot project {data.shape[-1]}-d vectors to {dim} dimensions")
    if len(data) < dim:
        raise ValueError(f"{len(data)} vectors are too few to fit a {dim}-d projection")
    moment = data.T @ data / len(data)
    values, vecs = np.linalg.eigh(moment)
    order = np.argsort(values)[::-1][:dim]
    basis = vecs[:, order]
    signs = np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(dim)])
    basis = basis * signs
    energy = float(values[order].sum() / values.sum())
    return Projection(basis.astype(np.float32), model_version, energy)


def fit_on_stored(vectors: np.ndarray, dim: int, stored_version: str, base: Projection | None) -> Projection:
    """The rank-``dim`` basis of stored fingerprints ``vectors`` of ``stored_version``, as a projection of the
    model's own embeddings: composed with ``base``, the projection those stored vectors were made with (None: they
    are the model's embeddings). Both bases have orthonormal columns, so their product does too."""
    step = fit_projection(vectors, dim, stored_version)
    if base is None:
        return dataclasses.replace(step, fitted_on=stored_version, stored_basis=step.basis)
    return Projection(base.basis @ step.basis, base.model_version, step.energy, stored_version, step.basis)

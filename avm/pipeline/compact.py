"""Compact fingerprints fitted on the catalog itself.

``avm fit-projection projection.source=catalog`` fits a projection (:mod:`avm.fingerprint.projection`) on a
seeded sample of the catalog's stored fingerprints, the data LanceDB also trains its IVF partitions and PQ codes
on; ``avm reindex model.<modality>.projection=<that file>`` then derives the projected fingerprints from the
stored ones (:func:`derive_round`), reading each table once and decoding no media.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from avm.errors import UserError
from avm.fingerprint import FingerprintOptions, Projection, fingerprint_version, fit_on_stored
from avm.index import BatchedWriter, FingerprintStore, IndexOptions, current_videos, sample_vectors
from avm.paths import resolve_path
from avm.pipeline.progress import Progress
from avm.types import Fingerprints

log = logging.getLogger(__name__)


def fit_catalog_projection(model: FingerprintOptions, index: IndexOptions, modality: str, dim: int, out: str,
                           max_vectors: int = 200_000, seed: int = 0) -> dict[str, Any]:
    """Fit a ``dim``-d projection of ``modality`` on up to ``max_vectors`` stored fingerprints of the catalog at
    ``index`` (made by the configured model), write it to ``out`` with a JSON summary beside it."""
    store = FingerprintStore(index)
    store.require_catalog()
    settings = model.model(modality)
    configured, active = fingerprint_version(settings), store.active_versions().get(modality)
    if active != configured:
        raise UserError(f"the catalog at {index.uri} holds {modality} fingerprints of {active or 'no version'}, "
                        f"not of the configured {configured}: configure the catalog's model to fit on it")
    vectors = sample_vectors(store, modality, max_vectors, seed)
    stored_dim = vectors.shape[1] if vectors.size else 0
    if not 0 < dim < stored_dim:
        raise UserError(f"projection.dim={dim} must be below the stored {stored_dim} dimensions of {active}")
    if len(vectors) < 16 * dim:
        raise UserError(f"the catalog holds {len(vectors)} {modality} fingerprints: too few to fit {dim} dimensions "
                        f"(at least {16 * dim}); ingest more first")
    base = Projection.load(settings.projection) if settings.projection else None
    projection = fit_on_stored(vectors, dim, active, base)
    path = resolve_path(Path(out).parent) / Path(out).name
    path.parent.mkdir(parents=True, exist_ok=True)
    projection.save(path)
    summary = {"modality": modality, "source": f"catalog {index.uri}", "fitted_on": active, "dim": dim,
               "fingerprint_version": projection.version(projection.model_version), "vectors": int(len(vectors)),
               "energy_kept": round(projection.energy, 4), "out": str(path),
               "next": f"avm reindex index.uri={index.uri} model.{modality}.projection={path}"}
    Path(str(path) + ".json").write_text(json.dumps(summary, indent=2))
    log.info("projection: %s", summary)
    return summary


def derivable(model: FingerprintOptions, active: dict[str, str], modalities: list[str]) -> dict[str, Projection]:
    """The configured projections of ``modalities`` that can be derived from the catalog's active fingerprints."""
    found = {}
    for modality in modalities:
        path = model.model(modality).projection
        projection = Projection.load(path) if path else None
        if projection is not None and projection.derives_from(active.get(modality, "")):
            found[modality] = projection
    return found


def derive_round(store: FingerprintStore, modality: str, projection: Projection, version: str, todo: set[str],
                 writer: BatchedWriter) -> tuple[int, list[str]]:
    """Write ``version`` fingerprints of ``modality`` for the ``todo`` videos, derived from their active stored
    ones by ``projection``; returns how many were written and the videos whose stored rows were incomplete."""
    durations = store.snapshot().durations
    # the content each derivation comes from: a video re-ingested with other content meanwhile is not written
    live = store.live_videos(["video_id", "content_hash"])
    hashes = dict(zip(live["video_id"].to_pylist(), live["content_hash"].to_pylist(), strict=True))
    progress = Progress(f"reindex {modality} (derived)", len(todo))
    done: set[str] = set()
    for video_id, rows in current_videos(store, modality, projection.fitted_on, todo):
        stored = Fingerprints.from_rows(modality, rows)
        prints = {}  # none stored (the file lacks the modality): an empty set again
        if len(stored):
            prints[modality] = Fingerprints(modality, stored.t_start, stored.t_end, projection.derive(stored.vectors),
                                            version)
        writer.add(video_id, prints, content_hash=hashes.get(video_id))
        done.add(video_id)
        progress.update(media_seconds=durations.get(video_id, 0.0))
    writer.flush()
    return len(done), sorted(todo - done)

"""``avm fit-projection``: fit the projection that makes one modality's fingerprints compact.

The basis (:mod:`avm.fingerprint.projection`) is fitted on the modality's training media, the same files its
model was trained on and never the benchmark's: audio as pooled interval fingerprints of the clean tracks,
video as one embedding per training frame (a still is one frame; an interval pools a few near-identical ones).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import MISSING

from avm.config import PathsConfig, one_of, ranged
from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel, fit_projection, pool_intervals
from avm.paths import resolve_path
from avm.schema import MODALITIES
from avm.train.audio.data import DataOptions as AudioDataOptions
from avm.train.audio.data import list_inputs as audio_inputs
from avm.train.audio.data import load_tracks
from avm.train.files import training_entries
from avm.train.visual.data import DataOptions as VisualDataOptions
from avm.train.visual.data import list_inputs as visual_inputs
from avm.train.visual.data import load_pictures
from avm.train.visual.retrieval import embed_frames

log = logging.getLogger(__name__)


@dataclass
class ProjectionOptions:
    """What ``avm fit-projection`` fits and where it writes it (``projection.*``)."""

    # training: the modality's training media; catalog: the stored fingerprints of the catalog at index.uri
    # (avm.pipeline.compact; then avm reindex derives the catalog's new fingerprints from the stored ones)
    source: str = one_of("training", ("training", "catalog"))
    modality: str = one_of("audio", MODALITIES)
    dim: int = ranged(32, 1)
    out: str = MISSING  # the .npz to write, e.g. avm/models/checkpoints/audio_v2_pca32.npz
    max_vectors: int = ranged(200_000, 1)  # a seeded sample of this many embeddings is fitted on
    seed: int = 0
    audio: AudioDataOptions = field(default_factory=AudioDataOptions)  # only train, exclude and decoding are used
    visual: VisualDataOptions = field(default_factory=VisualDataOptions)


@dataclass
class ProjectionConfig:
    """``avm fit-projection``: the model of ``projection.modality`` (from ``model``) and the projection to fit."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    model: FingerprintOptions = field(default_factory=FingerprintOptions)
    projection: ProjectionOptions = field(default_factory=ProjectionOptions)


def _unprojected(model: FingerprintOptions, modality: str) -> Fingerprinter:
    """A fingerprinter of ``modality``'s configured model alone, without any projection."""
    settings = model.model(modality)
    plain = ModalityModel(settings.architecture, dict(settings.params), settings.checkpoint, settings.seed,
                          pooling=settings.pooling, query_step=settings.query_step)
    return Fingerprinter(FingerprintOptions(modalities=(modality,), device=model.device, threads=model.threads,
                                            **{modality: plain}))


def audio_embeddings(fp: Fingerprinter, data: AudioDataOptions) -> np.ndarray:
    """Pooled interval fingerprints [n, model dim] of every clean training track."""
    entries = training_entries(data.train, data.exclude, audio_inputs, lambda e: e.video_id, "audio",
                               "scripts/fetch_training_audio.sh")
    hop, pooling = fp.models["audio"].hop_seconds, fp.opts.audio.pooling
    vectors = [pool_intervals(fp.audio_context(track.clean), hop, pooling)[2].astype(np.float32)
               for track in load_tracks(entries, data, with_variants=False)]
    return np.concatenate(vectors) if vectors else np.zeros((0, fp.dims()["audio"]), np.float32)


def visual_embeddings(fp: Fingerprinter, data: VisualDataOptions) -> np.ndarray:
    """One embedding [n, model dim] per usable frame of every training picture."""
    entries = training_entries(data.train, data.exclude, visual_inputs, lambda e: Path(e.uri).name, "pictures",
                               "scripts/fetch_training_images.sh")
    frames = [frame for picture in load_pictures(entries, data) for frame in picture.frames]
    return embed_frames(fp, frames) if frames else np.zeros((0, fp.dims()["visual"]), np.float32)


def run(cfg: ProjectionConfig) -> dict[str, Any]:
    """Fit ``cfg.projection`` on the training media of its modality, write it and a summary beside it."""
    opts = cfg.projection
    fp = _unprojected(cfg.model, opts.modality)
    embed = {"audio": lambda: audio_embeddings(fp, opts.audio), "visual": lambda: visual_embeddings(fp, opts.visual)}
    vectors = embed[opts.modality]()  # the modality was checked by _unprojected
    if len(vectors) > opts.max_vectors:
        vectors = vectors[np.random.default_rng(opts.seed).choice(len(vectors), opts.max_vectors, replace=False)]
    projection = fit_projection(vectors, opts.dim, fp.versions[opts.modality])
    out = resolve_path(Path(opts.out).parent) / Path(opts.out).name
    out.parent.mkdir(parents=True, exist_ok=True)
    projection.save(out)
    summary = {"modality": opts.modality, "model_version": projection.model_version, "dim": projection.dim,
               "fingerprint_version": projection.version(projection.model_version), "vectors": int(len(vectors)),
               "energy_kept": round(projection.energy, 4), "out": str(out)}
    Path(str(out) + ".json").write_text(json.dumps(summary, indent=2))
    log.info("projection: %s", summary)
    return summary

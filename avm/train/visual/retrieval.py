"""Held-out evaluation of visual models: top-1 retrieval of edited frames among clean frames and distractors.

Every held-out picture becomes a 1 s clip on the benchmark's canvas, once clean (the database entry) and
once per edit of :data:`EDITS` (the queries; the harder :data:`HARD_EDITS` only when named in ``extra_edits``),
made by the benchmark's own ffmpeg edits (:func:`avm.bench.stills.edited_clip`: fixed mid-to-hard parameters,
H.264 encoded) and decoded by avm.media exactly as at inference (2 fps, fitted into 128 px, black bars
removed); the middle frame is kept. The database also holds clean clips of ``distractors`` training pictures.
A query is correct when its nearest database frame (cosine of the per-frame embeddings, computed by
:meth:`avm.fingerprint.Fingerprinter.visual_context`) is the clean frame of its own picture. Picture-in-
picture and logos take their cover from training pictures outside the database.

Each model named in ``baselines`` (untrained, seeded) is scored on the same frames. Frame-rate changes are
not measured here (a still has none); they only move video frames in time by less than a frame.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avm.bench.edits import Edit
from avm.bench.stills import edited_clip
from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel
from avm.media import DecodeOptions, decode
from avm.models import ModelSpec
from avm.paths import resolve_path
from avm.train.visual.data import Corpus, Picture


def _edit(name: str, **params: object) -> Edit:
    return Edit(name, tuple(sorted(params.items())))


# edit label → the benchmark edits (avm.bench.edits) applied, with fixed parameters
EDITS: dict[str, tuple[Edit, ...]] = {
    "clean": (),
    "reencode_256px_crf34": (_edit("reencode", crf=34, width=256),),
    "crop_15%": (_edit("crop", frac=0.15, x=0.3, y=0.7),),
    "crop_25%_corner": (_edit("crop", frac=0.25, x=1.0, y=0.0),),
    "hflip": (_edit("hflip"),),
    "letterbox_20%": (_edit("letterbox", bars=0.2),),
    "pillarbox_25%": (_edit("pillarbox", bars=0.25),),
    "color": (_edit("color", contrast=1.25, gamma=0.7, saturation=1.5),),
    "blur_3": (_edit("blur", sigma=3.0),),
    "pip_41%": (_edit("pip", size=0.64, x=0.2, y=0.8),),
    "pip_64%": (_edit("pip", size=0.8, x=0.9, y=0.1),),
    "logo_20%": (_edit("logo", corner="tr", opacity=0.9, size=0.2),),
    "text": (_edit("text", msg=0, pos="bottom", scroll=0, size=0.1),),
    "combo": (_edit("crop", frac=0.15, x=0.5, y=0.5), _edit("hflip"),
              _edit("text", msg=3, pos="top", scroll=1, size=0.08), _edit("reencode", crf=34, width=320)),
}
# hard pirate edits, beyond EDITS (scored only when named in ``edits`` or ``extra_edits``): picture-in-picture at 25 %
# of the area, and a crop of 25 % of each side + mirror + blur + a 256 px re-encode stacked
HARD_EDITS: dict[str, tuple[Edit, ...]] = {
    "pip_25%": (_edit("pip", size=0.5, x=0.7, y=0.3),),
    "stack_crop25%_hflip_blur2_256px": (_edit("crop", frac=0.25, x=0.2, y=0.6), _edit("hflip"),
                                        _edit("blur", sigma=2.0), _edit("reencode", crf=34, width=256)),
}

log = logging.getLogger(__name__)


@dataclass
class EvalOptions:
    """Size of the held-out evaluation (``train.eval`` of train=visual)."""

    edits: tuple[str, ...] | None = None  # None = every edit of EDITS
    # scored after ``edits`` but left out of their mean (``mean_extra`` instead), so that ``mean`` stays comparable
    # with earlier runs: e.g. the hard edits of HARD_EDITS
    extra_edits: tuple[str, ...] = ()
    distractors: int = 400  # clean training pictures added to the database
    baselines: tuple[str, ...] = ("visual_tiny",)  # untrained architectures scored on the same frames
    workers: int = 2  # parallel ffmpeg processes
    cache_dir: str = "outputs/train/cache_visual/eval"  # decoded frames of the edited clips
    seed: int = 0


def _source(picture: Picture) -> tuple[Path, float | None]:
    """The file and moment (None for a still) of a picture's middle frame."""
    return Path(picture.uri), (float(picture.times[len(picture.times) // 2]) if picture.is_video else None)


def clip_frame(picture: Picture, edits: tuple[Edit, ...], cover: Picture | None, work: Path) -> np.ndarray:
    """The middle decoded frame (uint8 [h, w], as inference sees it) of ``picture``'s clip with ``edits``."""
    source, at = _source(picture)
    cover_source, cover_at = _source(cover) if cover is not None else (None, None)
    name = hashlib.sha1(repr((picture.uri, edits)).encode()).hexdigest()[:16]
    path = edited_clip(source, edits, work / f"{name}.mp4", at=at, cover=cover_source, cover_at=cover_at)
    try:
        frames = decode(str(path), DecodeOptions(), modalities=("visual",)).frames
    finally:
        path.unlink(missing_ok=True)
    if frames is None:
        raise ValueError(f"{picture.uri}: its edited clip {[e.name for e in edits]} decoded to no frame")
    return np.ascontiguousarray(frames[len(frames) // 2])


def _frames(jobs: list[tuple[Picture, tuple[Edit, ...], Picture | None]], cache: Path,
            workers: int) -> list[np.ndarray]:
    """Frames of many clips, in parallel, cached in one file per set of jobs."""
    key = hashlib.sha1(repr([(p.uri, e, c.uri if c else None) for p, e, c in jobs]).encode()).hexdigest()[:16]
    path = cache / f"frames-{key}.npz"
    if path.exists():
        with np.load(path) as saved:
            return [saved[f"f{i}"] for i in range(len(jobs))]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, workers)) as pool:
        frames = list(pool.map(lambda job: clip_frame(*job, Path(tmp)), jobs))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path.with_suffix(".tmp.npz"), **{f"f{i}": f for i, f in enumerate(frames)})
    path.with_suffix(".tmp.npz").replace(path)
    return frames


def embed_frames(fp: Fingerprinter, frames: list[np.ndarray]) -> np.ndarray:
    """L2-normalised embeddings [N, D] of frames of any sizes (frames of one size share a batch)."""
    out = np.zeros((len(frames), fp.models["visual"].dim), np.float32)
    shapes: dict[tuple[int, int], list[int]] = {}
    for i, frame in enumerate(frames):
        shapes.setdefault(frame.shape, []).append(i)
    for rows in shapes.values():
        context = fp.visual_context(np.stack([frames[i] for i in rows]))
        out[rows] = torch.nn.functional.normalize(context.float(), dim=1).cpu().numpy()
    return out


def _fingerprinter(spec: ModelSpec, device: str) -> Fingerprinter:
    """A visual-only fingerprinter of ``spec`` (frames are embedded one by one: no pooling; torch's threads)."""
    model = ModalityModel(spec.architecture, dict(spec.params), spec.checkpoint, spec.seed)
    return Fingerprinter(FingerprintOptions(modalities=("visual",), device=device, threads=0, visual=model))


def evaluate_retrieval(model: ModelSpec, corpus: Corpus, opts: EvalOptions, device: str = "auto") -> dict:
    """Top-1 accuracy per edit of ``model`` and of each baseline (see the module docstring); a JSON-ready dict."""
    if not corpus.heldout:
        raise ValueError("no held-out pictures to evaluate on")
    rng = np.random.default_rng(opts.seed)
    order = rng.permutation(len(corpus.train))
    distractors = [corpus.train[i] for i in order[:opts.distractors]]
    covers = [corpus.train[i] for i in order[opts.distractors:]] or [corpus.train[order[-1]]]
    cache = resolve_path(opts.cache_dir)
    known = {**EDITS, **HARD_EDITS}
    names = list(dict.fromkeys(opts.edits or EDITS))
    extra = [n for n in dict.fromkeys(opts.extra_edits) if n not in names]
    unknown = set(names + extra) - set(known)
    if unknown:
        raise ValueError(f"unknown held-out edits {sorted(unknown)}; known: {list(known)}")
    database = _frames([(p, (), None) for p in corpus.heldout + distractors], cache, opts.workers)
    queries = {name: _frames([(p, known[name], covers[i % len(covers)]) for i, p in enumerate(corpus.heldout)],
                             cache, opts.workers) for name in names + extra}
    specs = {model.architecture: model, **{b: ModelSpec(b) for b in opts.baselines if b != model.architecture}}
    results: dict[str, dict[str, float]] = {name: {} for name in names + extra}
    versions = {}
    for label, spec in specs.items():
        fp = _fingerprinter(spec, device)
        versions[label] = fp.versions["visual"]
        db = embed_frames(fp, database)
        for name in names + extra:
            sims = embed_frames(fp, queries[name]) @ db.T
            results[name][label] = float(np.mean(np.argmax(sims, axis=1) == np.arange(len(corpus.heldout))))
    mean = {label: float(np.mean([results[n][label] for n in names])) for label in specs}
    summary = {"edits": results, "mean": mean}
    if extra:
        summary["mean_extra"] = {label: float(np.mean([results[n][label] for n in extra])) for label in specs}
    log.info("held-out: %d pictures, %d distractors, %d edits (+%d extra)", len(corpus.heldout), len(distractors),
             len(names), len(extra))
    return {**summary, "models": versions, "heldout_pictures": len(corpus.heldout),
            "database_frames": len(database), "distractors": len(distractors)}

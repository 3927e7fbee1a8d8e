"""Compact fingerprints: a projection fitted on embeddings, applied by the fingerprinter with the real models."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avm.errors import UserError
from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel, Projection, fit_projection
from avm.media import DecodeOptions, decode

from conftest import DEMO_MEDIA, REPO

AVM = shutil.which("avm") or str(Path(sys.executable).parent / "avm")


def _low_rank(n: int, dim: int, rank: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((dim, rank)))[0]
    vectors = rng.standard_normal((n, rank)) @ basis.T + 0.01 * rng.standard_normal((n, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_projection_keeps_dot_products_of_low_rank_vectors_and_round_trips(tmp_path):
    vectors = _low_rank(2000, 64, 8)
    projection = fit_projection(vectors, 8, "audio_cnn-test")
    assert projection.dim == 8 and projection.energy > 0.99
    assert fit_projection(vectors, 8, "audio_cnn-test").tag == projection.tag  # a refit gives the same version
    small = projection.apply(vectors[:200])
    assert small.dtype == np.float16 and small.shape == (200, 8)
    assert np.allclose(np.linalg.norm(small.astype(np.float32), axis=1), 1.0, atol=2e-3)
    full = vectors[:200] @ vectors[:200].T
    assert np.abs(small.astype(np.float32) @ small.astype(np.float32).T - full).max() < 0.02
    projection.save(tmp_path / "p.npz")
    again = Projection.load(tmp_path / "p.npz")
    assert again.tag == projection.tag and again.model_version == "audio_cnn-test"
    assert projection.version("audio_cnn-test") == f"audio_cnn-test+{projection.tag}"
    with pytest.raises(ValueError, match="too few"):
        fit_projection(vectors[:4], 8, "m")
    with pytest.raises(ValueError, match="cannot project"):
        fit_projection(vectors, 65, "m")


def test_fingerprinter_projects_with_the_shipped_projections_and_refuses_a_foreign_one(media_dir, tmp_path):
    shipped = FingerprintOptions()
    visual_compact = dataclasses.replace(shipped.visual, projection="avm/models/checkpoints/visual_v1_pca32.npz")
    assert Fingerprinter(dataclasses.replace(shipped, modalities=("visual",), visual=visual_compact)).dims() == {
        "visual": 32}
    assert shipped.audio.projection and not shipped.visual.projection  # compact audio by default
    fp = Fingerprinter(shipped)
    assert fp.dims() == {"audio": 64, "visual": 128}
    assert "+pca64-" in fp.versions["audio"] and "+" not in fp.versions["visual"]
    prints = fp.fingerprint(decode(str(media_dir / "av.mp4"), DecodeOptions()))
    for modality in ("audio", "visual"):
        vectors = prints[modality].vectors
        assert vectors.shape[1] == fp.dims()[modality] and vectors.dtype == np.float16
        assert prints[modality].model_version == fp.versions[modality]
    # a projection fitted on another model is refused, naming the file and both versions
    foreign = fit_projection(_low_rank(500, 128, 16), 16, "audio_cnn-0000000000")
    foreign.save(tmp_path / "foreign.npz")
    options = dataclasses.replace(shipped, modalities=("audio",),
                                  audio=dataclasses.replace(shipped.audio, projection=str(tmp_path / "foreign.npz")))
    with pytest.raises(UserError, match="foreign.npz was fitted on audio_cnn-0000000000"):
        Fingerprinter(options)
    plain = dataclasses.replace(shipped, modalities=("audio",),
                                audio=ModalityModel(shipped.audio.architecture, checkpoint=shipped.audio.checkpoint,
                                                    pooling=shipped.audio.pooling))
    assert Fingerprinter(plain).dims() == {"audio": 128}


@pytest.mark.parametrize("modality,folders", [("audio", ["music"]), ("visual", ["photos", "footage"])])
def test_fit_projection_job_writes_a_projection_the_fingerprinter_uses(tmp_path, modality, folders):
    out = tmp_path / f"{modality}.npz"
    run = subprocess.run([AVM, "fit-projection", f"projection.modality={modality}", "projection.dim=8",
                          f"projection.out={out}", f"projection.{modality}.train=[{','.join(str(DEMO_MEDIA / f) for f in folders)}]",
                          f"projection.{modality}.exclude=[]", f"projection.{modality}.cache_dir={tmp_path / 'cache'}",
                          f"paths.output_dir={tmp_path}"], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    shipped = FingerprintOptions()
    plain = ModalityModel(shipped.model(modality).architecture, checkpoint=shipped.model(modality).checkpoint)
    projection = Projection.load(out)
    assert projection.dim == 8 and 0 < projection.energy <= 1
    assert projection.model_version == Fingerprinter(dataclasses.replace(
        shipped, modalities=(modality,), **{modality: plain})).versions[modality]
    assert json.loads(Path(f"{out}.json").read_text())["fingerprint_version"] == projection.version(
        projection.model_version)
    compact = dataclasses.replace(shipped.model(modality), projection=str(out))
    fp = Fingerprinter(dataclasses.replace(shipped, modalities=(modality,), **{modality: compact}))
    assert fp.dims() == {modality: 8} and fp.versions[modality].endswith(projection.tag)

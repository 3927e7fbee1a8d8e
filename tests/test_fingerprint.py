"""Models and interval fingerprints on real decoded media."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel, PoolingOptions, pool_intervals
from avm.media import DecodeOptions, decode, decode_audio
from avm.models import ModelSpec, build_model, save_checkpoint

from conftest import DEMO_MEDIA, make_clip


def _fingerprinter(**kw) -> Fingerprinter:
    return Fingerprinter(FingerprintOptions(
        audio=ModalityModel("audio_cnn", pooling=PoolingOptions(2.0, 1.0)),
        visual=ModalityModel("visual_tiny", pooling=PoolingOptions(2.0, 1.0)), **kw))


def test_pooling_windows_times_and_norms():
    context = torch.randn(100, 8)  # 100 frames at 0.1 s = 10 s
    t0, t1, vectors = pool_intervals(context, 0.1, PoolingOptions(window=2.0, step=0.5))
    assert len(t0) == 17 and np.allclose(t1 - t0, 2.0)
    assert np.allclose(t0[:3], [0.0, 0.5, 1.0])
    assert vectors.dtype == np.float16
    assert np.allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=2e-3)
    expected = context[5:25].mean(0)
    assert np.allclose(vectors[1].astype(np.float32), (expected / expected.norm()).numpy(), atol=2e-3)
    short_t0, _, short = pool_intervals(context[:12], 0.1, PoolingOptions(window=2.0, step=1.0))
    assert len(short) == 1  # 1.2 s ≥ half a window: one interval
    assert len(pool_intervals(context[:5], 0.1, PoolingOptions(window=2.0))[0]) == 0


def test_chunked_audio_inference_equals_one_pass():
    wave = decode_audio(str(next((DEMO_MEDIA / "music").glob("*.opus"))), DecodeOptions())[:16000 * 25]
    fp = _fingerprinter(audio_chunk_seconds=7.0, batch_size=2)
    chunked = fp.audio_context(wave)
    with torch.inference_mode():
        whole = fp.models["audio"](torch.from_numpy(wave.copy())[None])[0]
    assert chunked.shape == whole.shape
    assert torch.allclose(chunked, whole, atol=1e-4)


def test_fingerprint_every_modality_present(media_dir):
    fp = _fingerprinter()
    prints = fp.fingerprint(decode(str(media_dir / "av.mp4"), DecodeOptions()))
    assert set(prints) == {"audio", "visual"}
    assert len(prints["audio"]) == 11 and len(prints["visual"]) == 11  # 12 s, 2 s windows, 1 s step
    finer = fp.fingerprint(decode(str(media_dir / "av.mp4"), DecodeOptions()), steps={"audio": 0.5})
    assert len(finer["audio"]) == 21
    only_video = fp.fingerprint(decode(str(media_dir / "video_only.mp4"), DecodeOptions()))
    assert set(only_video) == {"visual"}


def test_reencoded_copy_is_nearer_than_other_music(tmp_path):
    """Fixed-feature baseline sanity: an edited copy matches its source better than unrelated music."""
    music = sorted((DEMO_MEDIA / "music").glob("*.opus"))
    src = make_clip(tmp_path / "src.m4a", video=None, audio=music[2], duration=20)
    copy = tmp_path / "copy.mp3"
    import ffmpeg

    from avm.media import ffmpeg_exe
    (ffmpeg.input(str(src)).output(str(copy), audio_bitrate="48k", af="volume=-6dB,lowpass=f=5000")
     .overwrite_output().global_args("-loglevel", "error").run(cmd=ffmpeg_exe()))
    other = make_clip(tmp_path / "other.m4a", video=None, audio=music[3], duration=20)
    fp = _fingerprinter()
    vec = {name: fp.fingerprint(decode(str(p), DecodeOptions()))["audio"].vectors.astype(np.float32)
           for name, p in {"src": src, "copy": copy, "other": other}.items()}
    n = min(len(vec["src"]), len(vec["copy"]))
    same_time = (vec["src"][:n] * vec["copy"][:n]).sum(1)
    best_other = (vec["copy"][:n] @ vec["other"].T).max(1)
    assert (same_time > best_other).mean() >= 0.9


def test_checkpoint_round_trip_keeps_weights_and_version(tmp_path):
    model, version = build_model(ModelSpec("audio_cnn", seed=3))
    again, version_again = build_model(ModelSpec("audio_cnn", seed=3))
    assert version == version_again and version != build_model(ModelSpec("audio_cnn", seed=4))[1]
    path = tmp_path / "audio.pt"
    save_checkpoint(model, "audio_cnn", path)
    loaded, loaded_version = build_model(ModelSpec("audio_cnn", checkpoint=str(path), seed=99))
    assert loaded_version == version
    with pytest.raises(ValueError, match="checkpoint is for"):
        build_model(ModelSpec("visual_tiny", checkpoint=str(path)))


def test_version_changes_with_a_hyper_parameter_but_not_with_defaults_spelled_out():
    base = build_model(ModelSpec("audio_cnn", seed=3))[1]
    # the same weights with another front-end setting give other fingerprints: another version
    assert build_model(ModelSpec("audio_cnn", {"norm_context_seconds": 1.0}, seed=3))[1] != base
    assert build_model(ModelSpec("audio_cnn", {"norm_context_seconds": 2.0}, seed=3))[1] == base  # the default


def test_mel_band_range_is_a_model_setting():
    narrow, version = build_model(ModelSpec("audio_cnn", {"f_max": 4000.0}, seed=3))
    wide, wide_version = build_model(ModelSpec("audio_cnn", seed=3))
    bin_hz = 16000 / 2 / (narrow.frontend.filters.shape[1] - 1)
    top = lambda model: float(torch.nonzero(model.frontend.filters.sum(0)).max()) * bin_hz  # noqa: E731
    assert top(narrow) <= 4000.0 < top(wide)
    assert version != wide_version

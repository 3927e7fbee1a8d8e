"""Visual model and its training: exact mirror invariance, edits that keep shapes and do what they say, a tiny
real training run on pictures made from decoded demo frames, and the shipped checkpoint matching its card."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from PIL import Image

from avm.config import CONFIG_DIR, to_options
from avm.media import DecodeOptions, decode_frames
from avm.models import ModelSpec, VisualCNN, VisualCNNConfig, build_model
from avm.train import LoopOptions, TrainConfig, VisualTrainOptions, run
from avm.train.visual import VISUAL_TRAINER, DataOptions, EvalOptions, PairSampler, load_corpus
from avm.train.visual.augment import (
    AugmentOptions,
    Draw,
    add_bars,
    composite,
    crop_boxes,
    degrade,
    edit_views,
    gaussian_blur,
    render,
    text_band,
    tone,
)
from avm.train.visual.data import list_inputs
from jobs.schemas import register_configs

from conftest import DEMO_MEDIA, REPO

TINY = {"channels": [4, 8, 8, 16], "dim": 16}
CARD = REPO / "avm" / "models" / "checkpoints" / "visual_v1.md"

register_configs()


def compose_train(overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def _frames(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", [(5, 72, 128), (3, 128, 128), (2, 101, 77)])
def test_visual_cnn_is_exactly_mirror_invariant_and_normalised(shape):
    model, version = build_model(ModelSpec("visual_cnn"))
    frames = _frames(*shape)
    with torch.inference_mode():
        out, mirrored = model(frames), model(frames.flip(-1))
    assert version.startswith("visual_cnn-") and out.shape == (shape[0], 128) and out.dtype == torch.float32
    assert torch.equal(out, mirrored)
    assert torch.allclose(out.norm(dim=1), torch.ones(shape[0]), atol=1e-5)
    with torch.inference_mode():
        assert torch.allclose(model(frames.float()), out, atol=1e-6)  # float 0..255 input is the same
        assert not torch.allclose(model(frames.flip(-2)), out, atol=1e-3)  # upside down is another picture


def test_visual_cnn_config_checks():
    with pytest.raises(ValueError, match="multiple of 16"):
        VisualCNN(VisualCNNConfig(input_size=60))
    assert VisualCNN(VisualCNNConfig(**TINY)).config.channels == (4, 8, 8, 16)


def test_render_crops_mirrors_and_shrinks_like_area_scaling():
    src = torch.rand(2, 1, 64, 64)
    full = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 2)
    out = render(src, full, 32, torch.tensor([False, True]))
    area = torch.nn.functional.avg_pool2d(src, 2)
    assert out.shape == (2, 1, 32, 32) and out.dtype == torch.float32
    assert torch.allclose(out[0], area[0], atol=1e-5) and torch.allclose(out[1], area[1].flip(-1), atol=1e-5)
    quarter = render(src, torch.tensor([[0.25, 0.5, 0.75, 1.0]] * 2), 32)
    assert torch.allclose(quarter, src[:, :, 32:, 16:48], atol=1e-5)
    boxes = crop_boxes(full, torch.tensor([0.75, 0.9]), torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
    assert torch.allclose(boxes[0], torch.tensor([0.25, 0.0, 1.0, 0.75]))
    assert torch.allclose(boxes[1, 2:] - boxes[1, :2], torch.tensor([0.9, 0.9]))


def test_edits_keep_shapes_ranges_and_do_what_they_say():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(4, 1, 64, 64, generator=gen)
    inset = torch.ones(4, 1, 32, 32)
    pasted = composite(torch.zeros_like(x), inset, torch.tensor([[0.25, 0.5, 0.75, 1.0]] * 4))
    assert pasted.shape == x.shape and pasted[:, :, 32:, 16:48].min() > 0.99 and pasted[:, :, :32].max() == 0
    half = composite(torch.zeros_like(x), inset, torch.tensor([[0.0, 0.0, 0.5, 0.5]] * 4), torch.full((4,), 0.5))
    assert torch.allclose(half[:, :, :32, :32], torch.full((4, 1, 32, 32), 0.5))
    bars = add_bars(x, torch.full((4,), 0.25), torch.tensor([True, True, False, False]), torch.full((4,), 0.1))
    assert torch.allclose(bars[:2, :, :, :8], torch.full((2, 1, 64, 8), 0.1), atol=1e-6)  # pillarbox
    assert torch.allclose(bars[2:, :, :8, :], torch.full((2, 1, 8, 64), 0.1), atol=1e-6)  # letterbox
    blurred = gaussian_blur(x, torch.tensor([0.5, 1.0, 2.0, 3.0]))
    assert blurred.shape == x.shape and torch.allclose(blurred.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.02)
    assert (blurred.std(dim=(1, 2, 3)) < x.std(dim=(1, 2, 3))).all()
    toned = tone(x, torch.tensor([1.0, 2.0, 0.5, 1.0]), torch.ones(4), torch.zeros(4))
    assert torch.allclose(toned[0], x[0], atol=1e-6) and torch.allclose(toned[1], x[1] ** 2, atol=1e-6)
    texted = text_band(x, torch.full((4,), 0.1), torch.tensor([True, False, True, False]), gen)
    assert torch.equal(texted[:, :, 10:50], x[:, :, 10:50])  # only the band changes
    assert not torch.equal(texted[0, :, :8], x[0, :, :8]) and not torch.equal(texted[1, :, -8:], x[1, :, -8:])
    rough = degrade(x, torch.tensor([0.3, 0.5, 0.8, 1.0]), torch.full((4,), 0.02), gen)
    assert rough.shape == x.shape and torch.equal(rough, (rough * 255).round() / 255)
    draw = Draw(np.random.default_rng(0), gen, torch.device("cpu"))
    edited = edit_views(x, np.array([True, True, False, True]), AugmentOptions(view_size=64, pip=1.0, logo=1.0,
                                                                              text=1.0, bars=1.0, blur=1.0),
                        torch.rand(4, 1, 64, 64, generator=gen), draw)
    assert edited.shape == x.shape and edited.dtype == torch.float32 and torch.equal(edited[2], x[2])
    assert 0.0 <= float(edited.min()) and float(edited.max()) <= 1.0


@pytest.fixture(scope="module")
def picture_dir(tmp_path_factory) -> Path:
    """Stills (PNG, two from each of four demo videos) cut from real decoded demo footage, plus one demo video."""
    d = tmp_path_factory.mktemp("pictures")
    opts = DecodeOptions(frame_rate=0.25, frame_size=160)
    videos = sorted(p for p in (DEMO_MEDIA / "footage").iterdir() if p.is_file())
    for video in videos[:4]:
        for j, frame in enumerate(decode_frames(str(video), opts)[:2]):
            Image.fromarray(frame).save(d / f"{video.stem}-{j}.png")
    (d / "clip").mkdir()
    (d / "clip" / videos[-1].name).write_bytes(videos[-1].read_bytes())
    return d


def test_tiny_training_writes_a_loadable_checkpoint_and_resumes(picture_dir, tmp_path):
    pictures = list_inputs([str(picture_dir)])
    files = [p for p in picture_dir.rglob("*") if p.is_file()]
    assert len(pictures) == len(files) >= 7 and len({p.video_id for p in pictures}) == len(files)
    data = DataOptions(train=(str(picture_dir),), exclude=(), heldout_fraction=0.25, source_size=96, min_std=5.0,
                       cache_dir=str(tmp_path / "cache"), max_video_frames=4, frame_rate=0.5)
    corpus = load_corpus(data)
    assert len(corpus.heldout) == 2 and len(corpus.train) >= 5
    assert all(p.frames.dtype == np.uint8 and p.frames.shape[1:] == (96, 96) for p in corpus.train + corpus.heldout)
    augment = AugmentOptions(view_size=64)
    a, b = PairSampler(corpus, augment, seed=0).sample(4)
    assert a.shape == b.shape == (4, 64, 64) and a.dtype == torch.float32
    assert torch.equal(a, a.round()) and 0 <= float(a.min()) and float(b.max()) <= 255

    job = TrainConfig(train=VisualTrainOptions(
        name="tiny", out_dir=str(tmp_path / "run"), architecture="visual_cnn", params=TINY, data=data,
        augment=augment, loop=LoopOptions(positions=6, max_steps=4, log_every=2, checkpoint_every=2, warmup_steps=2,
                                          threads=1, device="cpu"),
        eval=EvalOptions(edits=("clean", "hflip"), extra_edits=("pip_25%",), distractors=2, workers=1,
                         cache_dir=str(tmp_path / "eval"))))
    summary = run(job)
    assert summary["steps"] == 4 and (tmp_path / "run" / "last.pt").exists()
    loaded, version = build_model(ModelSpec("visual_cnn", checkpoint=str(tmp_path / "run" / "model.pt")))
    assert version == summary["model_version"] and loaded.config.channels == (4, 8, 8, 16)
    results = summary["heldout"]
    assert set(results["edits"]) == {"clean", "hflip", "pip_25%"}
    assert set(results["mean"]) == set(results["mean_extra"]) == {"visual_cnn", "visual_tiny"}
    assert results["edits"]["hflip"]["visual_cnn"] == results["edits"]["clean"]["visual_cnn"] == 1.0
    assert results["mean"]["visual_cnn"] == 1.0  # the extra edit stays out of the mean
    assert results["mean_extra"] == results["edits"]["pip_25%"]
    assert results["database_frames"] == 4
    again = run(replace(job, train=replace(job.train, loop=replace(job.train.loop, max_steps=6), evaluate=False)))
    assert again["resumed_from"] == 4 and again["steps"] == 6


def test_visual_train_config_builds_a_visual_job():
    cfg = compose_train(["train=visual", "train.loop.max_minutes=1"])
    config = to_options(cfg, TrainConfig)
    job, inference = config.train, config.model.visual
    assert job.modality == "visual" and job.architecture == "visual_cnn" and job.loop.max_minutes == 1
    assert isinstance(job.data, DataOptions) and isinstance(job.eval, EvalOptions)
    assert job.augment.view_size == cfg.media.frame_size and job.data.bar_threshold == cfg.media.bar_threshold
    assert inference.query_step <= inference.pooling.step
    assert "../shared/media/photos" in job.data.exclude and "../shared/media/footage" in job.data.exclude
    assert (job.loop.positions, job.loop.temperature, job.loop.max_minutes) == (128, 0.07, 1)
    assert VISUAL_TRAINER.data is DataOptions


def test_shipped_checkpoint_matches_its_card_and_the_config():
    card = CARD.read_text()
    commands = re.findall(r"^(?:python -m jobs\.train|avm train) (.+?)(?:\s+#.*)?$", card, flags=re.M)
    assert len(commands) == 1, "the card names exactly one training command"
    overrides = shlex.split(commands[0])
    assert overrides == ["+experiment=visual_v1"]
    assert "scripts/fetch_training_images.sh" in card
    config = to_options(compose_train(overrides), TrainConfig)
    job, model_cfg = config.train, config.model.visual
    assert job.modality == "visual" and job.export == model_cfg.checkpoint
    assert job.architecture == model_cfg.architecture == "visual_cnn"
    path = REPO / job.export
    assert path.stat().st_size <= 10 * 2 ** 20
    _, version = build_model(ModelSpec(model_cfg.architecture, checkpoint=model_cfg.checkpoint))
    assert f"`{version}`" in card
    assert model_cfg.query_step <= model_cfg.pooling.step

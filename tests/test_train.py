"""Training: the augmentations do what they say, views pool like inference, a tiny real run learns and resumes,
the train config composes into typed options, and the shipped recipes are the experiment presets."""

from __future__ import annotations

import dataclasses
import re
import shlex
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from avm.config import CONFIG_DIR, to_options
from avm.fingerprint import Fingerprinter, FingerprintOptions, ModalityModel, PoolingOptions, pool_intervals
from avm.manifest import ManifestEntry
from avm.models import AudioCNN, AudioCNNConfig, ModelSpec, build_model
from avm.train import TRAINERS, AudioTrainOptions, LoopOptions, TrainConfig, TrainOptions, VisualTrainOptions, run_loop
from avm.train.audio import (
    AUDIO_TRAINER,
    AugmentOptions,
    DataOptions,
    EvalOptions,
    ViewGeometry,
    evaluate_retrieval,
    load_corpus,
)
from avm.train.audio.augment import (
    band_pass_response,
    change_speed,
    filter_views,
    is_smooth,
    mix_at_snr,
    nearest_smooth,
    reverb,
    synthetic_ir,
)
from avm.train.audio.data import load_track, variant_plan
from avm.train.files import split_heldout
from avm.train.job import format_results, trainer_of
from jobs.schemas import register_configs

from conftest import DEMO_MEDIA, REPO

RATE = 16000
TINY = {"stem_channels": 4, "channels": 32, "dim": 32}
INFERENCE = ModalityModel("audio_cnn", pooling=PoolingOptions(window=1.0, step=1.0), query_step=0.5)
CARDS = REPO / "avm" / "models" / "checkpoints"

register_configs()


def compose_train(overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def _band_energy(x: np.ndarray, low: float, high: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(spec[(freqs >= low) & (freqs < high)].sum())


def test_mix_hits_the_requested_snr():
    gen = torch.Generator().manual_seed(0)
    x, other = torch.randn(4, RATE, generator=gen), 3.0 * torch.randn(4, RATE, generator=gen)
    snr = torch.tensor([0.0, 5.0, 12.5, 20.0])
    mixed = mix_at_snr(x, other, snr)
    measured = 10 * torch.log10(x.square().mean(1) / (mixed - x).square().mean(1))
    assert torch.allclose(measured, snr, atol=0.5)


def test_speed_changes_length_and_pitch_by_the_factor():
    t = np.arange(2 * RATE) / RATE
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    for factor in (0.9, 1.1):
        fast = change_speed(tone, factor)
        assert len(fast) == round(len(tone) / factor)
        peak = np.fft.rfftfreq(len(fast), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(fast)))]
        assert abs(peak - 1000 * factor) < 5
    smooth = nearest_smooth(107200)  # 107200 = 2^6 * 5^2 * 67: a slow FFT length
    assert is_smooth(smooth) and abs(smooth - 107200) < 200


def test_band_pass_removes_energy_below_300_hz():
    noise = torch.randn(1, 4 * RATE, generator=torch.Generator().manual_seed(1))
    phone = filter_views(noise, lambda f: band_pass_response(f, torch.tensor([300.0]), torch.tensor([3400.0]), 6))
    before, after = noise[0].numpy(), phone[0].numpy()
    assert _band_energy(after, 20, 200) < 0.01 * _band_energy(before, 20, 200)
    assert _band_energy(after, 0, 300) < 0.1 * _band_energy(before, 0, 300)
    assert abs(10 * np.log10(_band_energy(after, 600, 3000) / _band_energy(before, 600, 3000))) < 1.0


def test_reverb_keeps_timing_and_level_and_adds_a_tail():
    x = torch.zeros(1, RATE)
    x[0, 4000] = 1.0
    ir = synthetic_ir(torch.tensor([0.5]), torch.tensor([3.0]), RATE, torch.Generator().manual_seed(2))
    y = reverb(x, ir)[0]
    assert int(y.abs().argmax()) == 4000
    assert torch.isclose(y.square().mean(), x.square().mean(), rtol=1e-3)
    assert y[4100:8000].square().sum() > 0.05 * y.square().sum()


def test_view_pooling_equals_inference_pooling():
    model = AudioCNN(AudioCNNConfig(**TINY))
    geometry = ViewGeometry.for_model(model, 1.0, 3)
    assert geometry.context >= model.context_samples and geometry.context % geometry.hop == 0
    context = torch.randn(1, geometry.length // geometry.hop + 1, 8)
    pooled = geometry.pool(context)
    _, _, vectors = pool_intervals(context[0, geometry.context // geometry.hop:], model.hop_seconds,
                                   PoolingOptions(window=1.0, step=1.0))
    assert np.allclose(pooled.numpy(), vectors[:3].astype(np.float32), atol=2e-3)
    views = torch.randn(2, geometry.length)
    clips = geometry.clips(views)
    second = views[1, geometry.context + geometry.window:][:geometry.window]  # view 1, window 1
    assert clips.shape == (6, geometry.window) and torch.equal(clips[4], second)
    clip_context = torch.randn(6, geometry.window // geometry.hop + 1, 8)  # frames of a one-window query file
    _, _, one = pool_intervals(clip_context[4], model.hop_seconds, PoolingOptions(window=1.0, step=0.5))
    assert len(one) == 1
    assert np.allclose(geometry.pool_clips(clip_context)[4].numpy(), one[0].astype(np.float32), atol=2e-3)


def test_heldout_split_is_stable_and_nonempty():
    entries = [ManifestEntry(f"/m/{i}.ogg", str(i)) for i in range(20)]
    train_set, held = split_heldout(entries, 0.1, seed=0)
    assert len(held) == 2 and len(train_set) == 18
    more_train, more_held = split_heldout(entries + [ManifestEntry("/m/x.ogg", "x")], 0.1, seed=0)
    assert set(e.uri for e in held) <= set(e.uri for e in more_held) | set(e.uri for e in more_train)
    assert len(split_heldout(entries[:2], 0.1, 0)[1]) == 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The bundled demo music (30 s of each track), with one codec and one pitch variant per training track."""
    opts = DataOptions(train=(str(DEMO_MEDIA / "music"),), interference=(str(DEMO_MEDIA / "speech"),), exclude=(),
                       heldout_fraction=0.25, max_track_seconds=30.0,
                       cache_dir=str(tmp_path_factory.mktemp("cache")))
    return load_corpus(opts)


def test_corpus_has_aligned_offline_variants(corpus):
    assert len(corpus.heldout) == 2 and len(corpus.train) == 6 and corpus.interference
    track = corpus.train[0]
    assert {k[:5] for k in track.variants} & {"mp3_3", "mp3_4", "mp3_5", "mp3_6", "opus_", "aac_3", "aac_4", "aac_5",
                                               "aac_6"}
    assert any(k.startswith("pitch") for k in track.variants)
    codec = next(v for k, v in track.variants.items() if not k.startswith("pitch"))
    clean = np.asarray(track.clean, np.float32)
    assert len(codec) == len(clean)
    assert np.corrcoef(clean, np.asarray(codec, np.float32))[0, 1] > 0.9  # delay compensated


def _pitch_shifts(opts: DataOptions, tracks: int = 200) -> np.ndarray:
    return np.array([float(label[5:]) for i in range(tracks) for label in variant_plan(f"track{i}", opts)
                     if label.startswith("pitch")])


def test_pitch_range_reaches_the_pitch_variants_and_their_cache_files(tmp_path):
    default, wide = _pitch_shifts(DataOptions()), _pitch_shifts(DataOptions(semitones=(1.0, 4.0)))
    assert len(default) == len(wide) == 200
    assert np.all((np.abs(default) >= 1.0) & (np.abs(default) <= 2.0))
    assert np.all((np.abs(wide) >= 1.0) & (np.abs(wide) <= 4.0)) and np.abs(wide).max() > 3.5
    assert (wide < 0).any() and (wide > 0).any()

    # a real track: each range makes (and then reads) its own cache file, and rubberband shifts by its amount
    t = np.arange(3 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t) * 32767).astype(np.int16)
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(RATE), out.writeframes(tone.tobytes())
    entry = ManifestEntry(str(path), "tone")
    tracks = {}
    for semitones in ((1.0, 2.0), (1.0, 4.0)):
        opts = DataOptions(variants=("pitch",), semitones=semitones, min_seconds=1.0, workers=1,
                           cache_dir=str(tmp_path / "cache"))
        tracks[semitones] = load_track(entry, opts, with_variants=True)
    labels = [next(iter(track.variants)) for track in tracks.values()]
    assert labels[0] != labels[1]
    assert {p.name.split(".", 1)[1] for p in (tmp_path / "cache").glob("tone-*.pitch*.npy")} == {
        f"{label}.npy" for label in labels}
    for label, track in zip(labels, tracks.values(), strict=True):
        shifted = np.asarray(track.variants[label], np.float32)[RATE // 2:-RATE // 2]
        peak = np.fft.rfftfreq(len(shifted), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(shifted)))]
        assert abs(peak - 440.0 * 2 ** (float(label[5:]) / 12)) < 5


def _train(model, corpus, opts: LoopOptions, out_dir: Path):
    task = AUDIO_TRAINER.task(model, corpus, AugmentOptions(spans=2), opts, INFERENCE)
    return run_loop(model, "audio_cnn", task, opts, out_dir)


def test_tiny_training_learns_resumes_and_evaluates(corpus, tmp_path):
    torch.manual_seed(0)
    model, _ = build_model(ModelSpec("audio_cnn", TINY))
    opts = LoopOptions(positions=8, lr=3e-3, warmup_steps=5, max_steps=40, log_every=5,
                       checkpoint_every=20, threads=1)
    result = _train(model, corpus, opts, tmp_path)
    losses = [row["loss"] for row in result.history]
    assert result.steps == 40 and len(losses) == 8
    assert np.mean(losses[-2:]) < np.mean(losses[:2]) - 0.2
    assert (tmp_path / "last.pt").exists() and (tmp_path / "progress.jsonl").read_text().count("\n") == 8

    resumed_model, _ = build_model(ModelSpec("audio_cnn", TINY))
    again = _train(resumed_model, corpus, dataclasses.replace(opts, max_steps=45), tmp_path)
    assert again.resumed_from == 40 and again.steps == 45

    loaded, version = build_model(ModelSpec("audio_cnn", checkpoint=str(tmp_path / "model.pt")))
    assert version.startswith("audio_cnn-") and loaded.config.channels == 32
    trained = dataclasses.replace(INFERENCE, checkpoint=str(tmp_path / "model.pt"))
    fp = Fingerprinter(FingerprintOptions(modalities=("audio",), threads=0, audio=trained))
    results = evaluate_retrieval(fp, corpus.heldout, EvalOptions(queries=5, edits=("clean", "speed_+8%"),
                                                                  extra_edits=("speed_-25%", "clean")),
                                 [t.clean for t in corpus.train], corpus.interference, RATE)
    assert set(results["edits"]) == {"clean", "speed_+8%", "speed_-25%"}
    assert results["mean"]["top1_1s"] == pytest.approx(np.mean([results["edits"][e]["top1_1s"]
                                                                 for e in ("clean", "speed_+8%")]))
    assert results["mean_extra"]["top1_5s"] == results["edits"]["speed_-25%"]["top1_5s"]
    assert "mean of extra edits" in format_results(results)
    assert all(0.0 <= v <= 1.0 for row in results["edits"].values() for v in row.values())
    assert results["database_intervals"] == 2 * 30  # two 30 s tracks, 1 s windows every 1 s


def test_train_config_builds_a_job():
    cfg = compose_train(["train.loop.max_minutes=1", "train.data.workers=1"])
    job = to_options(cfg, TrainConfig)
    train, inference = job.train, job.model.audio
    assert isinstance(train, AudioTrainOptions) and isinstance(train.data, DataOptions)
    assert train.loop.max_minutes == 1 and train.data.workers == 1 and train.data.sample_rate == 16000
    assert train.augment.spans == 4 and inference.pooling.window == 1.0  # views of 4 inference windows
    assert inference.query_step <= inference.pooling.step
    assert train.augment.snr_db == (0.0, 20.0)
    assert train.out_dir == f"{job.paths.output_dir}/{train.name}" and train.loop.seed == train.data.seed == train.seed
    assert trainer_of(train) is AUDIO_TRAINER


def test_each_modality_exports_one_trainer_matching_its_schema():
    assert set(TRAINERS) == {"audio", "visual"}
    for schema in (AudioTrainOptions, VisualTrainOptions):
        fields = {f.name: f for f in dataclasses.fields(schema)}
        trainer = TRAINERS[fields["modality"].default]
        for part in ("data", "augment", "eval"):
            assert fields[part].default_factory is getattr(trainer, part)
    with pytest.raises(TypeError, match="train.data of a visual job"):
        trainer_of(VisualTrainOptions(out_dir="x", data=DataOptions()))
    with pytest.raises(ValueError, match="unknown"):
        trainer_of(AudioTrainOptions(out_dir="x", modality="smell"))
    assert issubclass(AudioTrainOptions, TrainOptions) and issubclass(VisualTrainOptions, TrainOptions)


NOISIER = ["train.augment.mix=0.8", "train.augment.snr_db=[0.0,15.0]", "train.augment.mix_kinds=[0.5,0.25,0.25]"]
# each shipped model's recipe as the command line that made it (model cards, scripts/train_audio_v2.sh)
RECIPES = {
    "audio_v1": ["train=audio", "train.export=avm/models/checkpoints/audio_v1.pt"],
    "audio_v2_stage1": ["train=audio", "train.name=audio_v3", "+train.params.f_max=4000.0",
                        "train.loop.max_minutes=50", *NOISIER],
    "audio_v2_stage2": ["train=audio", "train.name=audio_v4", "train.init_checkpoint=outputs/train/audio_v3/model.pt",
                        "train.data.train=[data/train_audio/music,data/train_audio/speech]",
                        "train.loop.max_minutes=30", "train.loop.lr=0.001", "train.loop.warmup_steps=50", *NOISIER,
                        "train.export=avm/models/checkpoints/audio_v2.pt"],
    "visual_v1": ["train=visual", "train.export=avm/models/checkpoints/visual_v1.pt"],
    # issue 12: fine-tuned for hard pirate edits (scripts/train_hard_models.sh)
    "audio_v3": ["train=audio", "train.name=audio_v5", "train.init_checkpoint=avm/models/checkpoints/audio_v2.pt",
                 "train.export=avm/models/checkpoints/audio_v3.pt", "+train.params.f_max=4000.0",
                 "train.data.train=[data/train_audio/music,data/train_audio/speech]", "train.data.semitones=[1.0,4.0]",
                 "train.augment.speed_range=0.25", "train.augment.pitch=0.35", "train.augment.mix=0.8",
                 "train.augment.snr_db=[-5.0,15.0]",
                 "train.augment.mix_kinds=[0.5,0.25,0.25]", "train.loop.max_minutes=30", "train.loop.lr=0.001",
                 "train.loop.warmup_steps=50",
                 "train.eval.extra_edits=['speed_+25%','speed_-25%','pitch_+4st','pitch_-4st','noise_-5dB',"
                 "'music_-5dB','speech_-5dB']"],
    "visual_v2": ["train=visual", "train.name=visual_v2", "train.init_checkpoint=avm/models/checkpoints/visual_v1.pt",
                  "train.export=avm/models/checkpoints/visual_v2.pt", "train.augment.pip=0.4",
                  "train.augment.pip_side=[0.5,0.95]", "train.augment.crop=0.8", "train.augment.crop_keep=[0.7,0.97]",
                  "train.augment.blur=0.5", "train.augment.degrade=0.7", "train.augment.degrade_scale=[0.25,0.8]",
                  "train.loop.max_minutes=15", "train.loop.lr=0.001", "train.loop.warmup_steps=50",
                  "train.eval.extra_edits=['pip_25%','stack_crop25%_hflip_blur2_256px']"],
}


@pytest.mark.parametrize("experiment", sorted(RECIPES))
def test_experiment_presets_are_the_shipped_recipes(experiment):
    preset = compose_train([f"+experiment={experiment}"])
    assert OmegaConf.to_container(preset.train, resolve=True) == OmegaConf.to_container(
        compose_train(RECIPES[experiment]).train, resolve=True)
    assert isinstance(to_options(preset, TrainConfig).train, TrainOptions)


def test_script_and_cards_cite_the_presets():
    script = (REPO / "scripts" / "train_audio_v2.sh").read_text()
    assert re.findall(r"\+experiment=(\w+)", script) == ["audio_v2_stage1", "audio_v2_stage2"]
    for card, experiments in (("audio_v1", ["audio_v1"]), ("audio_v2", ["audio_v2_stage1", "audio_v2_stage2"])):
        text = (CARDS / f"{card}.md").read_text()
        commands = re.findall(r"^(?:python -m jobs\.train|avm train) (.+?)(?:\s+#.*)?$", text, flags=re.M)
        assert [shlex.split(c) for c in commands] == [[f"+experiment={e}"] for e in experiments]
    stage1, stage2 = (to_options(compose_train([f"+experiment=audio_v2_stage{i}"]), TrainConfig) for i in (1, 2))
    assert stage2.train.init_checkpoint == f"{stage1.train.out_dir}/model.pt"
    assert stage2.train.export == stage2.model.audio.checkpoint  # the shipped audio model


def test_hard_edit_recipes_start_from_the_shipped_models_and_score_the_hard_edits():
    from avm.train.audio import HARD_EDITS as AUDIO_HARD
    from avm.train.visual import HARD_EDITS as VISUAL_HARD

    script = (REPO / "scripts" / "train_hard_models.sh").read_text()
    assert re.findall(r"\+experiment=(\w+)", script) == ["audio_v3", "visual_v2"]
    names = set()
    for experiment, hard in (("audio_v3", AUDIO_HARD), ("visual_v2", VISUAL_HARD)):
        job = to_options(compose_train([f"+experiment={experiment}"]), TrainConfig)
        shipped = job.model.model(job.train.modality).checkpoint  # the model it fine-tunes: today's default
        assert job.train.init_checkpoint == shipped and (REPO / shipped).is_file()
        assert job.train.export == f"avm/models/checkpoints/{experiment}.pt" != shipped
        assert set(job.train.eval.extra_edits) == set(hard)
        names.add(job.train.name)
    # a run directory of its own: not one of the shipped models' runs (a run resumes from its out_dir)
    assert not names & {"audio_v1", "audio_v3", "audio_v4", "visual_v1", "visual_v1_r1"}
    model, _ = build_model(ModelSpec("audio_cnn", {"f_max": 4000.0}, "avm/models/checkpoints/audio_v2.pt"))
    assert model.config.f_max == 4000.0

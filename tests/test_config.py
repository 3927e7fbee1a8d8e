"""Every job config composes and turns into stage options; the cluster launcher config is valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from avm.pipeline import options
from jobs import CONFIG_DIR

REPO = Path(__file__).resolve().parent.parent
JOB_CONFIGS = {"ingest": ["input=x"], "scan": [], "match_file": ["file=x"], "evaluate": ["ground_truth=x"],
               "demo": [], "train": []}


@pytest.mark.parametrize("name", sorted(JOB_CONFIGS))
def test_job_configs_compose(name):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name=name, overrides=JOB_CONFIGS[name])
    if "model" in cfg:
        fp = options.fingerprint_options(cfg)
        assert set(fp.models) == set(fp.modalities) == {"audio", "visual"}
        assert options.decode_options(cfg).sample_rate == 16000
        assert options.query_steps(cfg) == {"audio": 0.5, "visual": 0.5}
    if "index" in cfg:
        assert options.index_options(cfg).uri.endswith("lancedb")
    if "train" in cfg:
        assert options.train_job(cfg).loop is not None


def test_cluster_and_s3_variants_compose():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="scan", overrides=["ray=cluster", "index=s3", "model.modalities=[audio]"])
    assert options.ray_options(cfg).embed_gpus == 1.0 and options.ray_options(cfg).address == "auto"
    assert options.index_options(cfg).uri.startswith("s3://")
    assert options.decode_options(cfg).decode_video is False


def test_unknown_setting_is_an_error():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="scan", overrides=["+match.min_simlarity=0.3"])
    with pytest.raises(ValueError, match="min_simlarity"):
        options.match_options(cfg)


def test_match_settings_are_shared_with_per_modality_overrides():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="scan", overrides=["match.max_gap=3.0", "+match.modality.visual.min_hits=7"])
        audio_only = compose(config_name="scan", overrides=["model.modalities=[audio]"])
        typo = compose(config_name="scan", overrides=["+match.modality.vidio.min_hits=7"])
    opts = options.match_options(cfg)
    assert set(opts) == {"audio", "visual"}
    assert opts["visual"].max_gap == 3.0 and opts["visual"].min_hits == 7
    assert opts["audio"].min_hits == cfg.match.modality.audio.min_hits and opts["audio"].window_overlap == 1.0
    assert opts["audio"].max_gap == cfg.match.modality.audio.max_gap  # a per-modality value wins over the shared one
    assert set(options.match_options(audio_only)) == {"audio"}
    with pytest.raises(ValueError, match="vidio"):
        options.match_options(typo)


def test_cluster_launcher_config_is_valid():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml.safe_load((REPO / "cluster.yaml").read_text()))
    validate_config(config)
    types = config["available_node_types"]
    assert {"head", "cpu_decode", "gpu_embed"} <= set(types)
    assert any("pip install" in c and "-e" in c for c in config["setup_commands"])

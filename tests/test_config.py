"""Config from one source: every job composes with every group option into typed option objects, every option is
settable from the command line, and the YAML holds only presets and overrides of the code defaults."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, ListConfig, OmegaConf

from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.match import MatchConfig
from avm.train.config import SCHEMAS as TRAIN_SCHEMAS
from jobs.schemas import JOB_SCHEMAS, register_configs

REPO = Path(__file__).resolve().parent.parent
CONF = Path(CONFIG_DIR)
REQUIRED = {"ingest": ["input=x"], "nightly": ["input=x"], "match_file": ["file=x"], "evaluate": ["ground_truth=x"], "delete": ["reason=x"],
            "fit_projection": ["projection.out=x"]}

register_configs()


def compose_job(job: str, overrides: list[str] = ()) -> DictConfig:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name=job, overrides=[*REQUIRED.get(job, []), *overrides])


def job_groups(job: str) -> list[str]:
    """The config groups a job's primary config picks in its defaults list."""
    entries = yaml.safe_load((CONF / f"{job}.yaml").read_text())["defaults"]
    return [next(iter(e)) for e in entries if isinstance(e, dict)]


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


CASES = [(job, group, option) for job in JOB_SCHEMAS for group in job_groups(job) for option in group_options(group)]


@pytest.mark.parametrize("job,group,option", CASES, ids=[f"{j}-{g}={o}" for j, g, o in CASES])
def test_every_job_composes_with_every_group_option(job, group, option):
    cfg = compose_job(job, [f"{group}={option}"])
    options = to_options(cfg, JOB_SCHEMAS[job])
    assert isinstance(options, JOB_SCHEMAS[job])
    if hasattr(options, "match") and hasattr(options, "model"):
        per_modality = options.match.per_modality(options.model.modalities)
        assert set(per_modality) == set(options.model.modalities)


def _leaves(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, DictConfig):
        return [leaf for key in node for leaf in _leaves(node._get_node(key), f"{prefix}{key}.")]
    return [(prefix[:-1], node._value() if hasattr(node, "_value") else node)]


def _override(key: str, value: Any) -> str | None:
    """``key=value`` in Hydra's override grammar for plain values (None where the value has no plain form)."""
    if isinstance(value, (list, dict, ListConfig, DictConfig)):
        return None
    if value is None:
        return f"{key}=null"
    if isinstance(value, bool):
        return f"{key}={str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{key}={value}"
    text = str(value)
    return None if "${" in text or text == "???" else f"{key}='{text}'"


@pytest.mark.parametrize("job", sorted(JOB_SCHEMAS))
def test_every_option_is_settable_from_the_command_line(job):
    cfg = compose_job(job)
    overrides = [o for key, value in _leaves(cfg) if (o := _override(key, value)) is not None]
    assert len(overrides) > 5
    again = compose_job(job, overrides)
    assert to_options(again, JOB_SCHEMAS[job]) == to_options(cfg, JOB_SCHEMAS[job])


def _schema_of_group(group: str, raw: dict[str, Any]) -> DictConfig:
    """The code defaults a group file is merged over: its own schema entry, else the job schema's node."""
    for entry in raw.get("defaults", []):
        if isinstance(entry, str) and entry.endswith("_schema"):
            from hydra.core.config_store import ConfigStore
            return OmegaConf.create(ConfigStore.instance().load(f"{group}/{entry}.yaml").node)
    for schema in JOB_SCHEMAS.values():
        node = OmegaConf.structured(schema)
        if group in node:
            return node[group]
    raise AssertionError(f"no schema has a {group!r} node")


def _inside_free_mapping(schema: DictConfig, key: str) -> bool:
    """Whether ``key`` lies inside a ``dict``-typed field (free keys, e.g. storage_options) of ``schema``."""
    parts = key.split(".")
    for end in range(len(parts) - 1, 0, -1):
        node = OmegaConf.select(schema, ".".join(parts[:end]), default=None)
        if isinstance(node, DictConfig):
            return OmegaConf.get_type(node) is dict
    return False


GROUP_FILES = sorted(p for p in CONF.glob("*/*.yaml"))


@pytest.mark.parametrize("path", GROUP_FILES, ids=[f"{p.parent.name}/{p.name}" for p in GROUP_FILES])
def test_group_files_hold_only_overrides_of_known_keys(path):
    """A YAML value equal to the code default is a default written twice; a key the code lacks is a typo."""
    group = path.parent.name
    if group == "experiment":  # recipes: global overrides, checked by composing them
        return
    raw = yaml.safe_load(path.read_text()) or {}
    schema = _schema_of_group(group, raw)
    repeated, unknown = [], []
    for key, value in _leaves(OmegaConf.create({k: v for k, v in raw.items() if k != "defaults"})):
        lookup = key
        if group == "match" and key.startswith("modality."):
            lookup = key.split(".", 2)[2]  # modality.<name>.<step>.<field> overrides the shared <step>.<field>
        default = OmegaConf.select(schema, lookup, default="<unknown>", throw_on_missing=False)
        if default == "<unknown>" and not _inside_free_mapping(schema, lookup):
            unknown.append(key)
        elif not isinstance(value, (list, dict)) and default == value:
            repeated.append(f"{key}={value}")
    assert not unknown, f"{path}: keys the code does not know: {unknown}"
    assert not repeated, f"{path}: values equal to the code defaults (write defaults once, in the dataclasses): {repeated}"


def test_false_positive_rate_is_settable_for_every_modality():
    cfg = compose_job("scan", ["match.calibration.false_positives_per_hour=0.01"])
    job = to_options(cfg, JOB_SCHEMAS["scan"])
    opts = job.match.per_modality(job.model.modalities)
    assert {m: o.calibration.false_positives_per_hour for m, o in opts.items()} == {"audio": 0.01, "visual": 0.01}


def test_unknown_settings_are_errors():
    with pytest.raises(ConfigCompositionException, match="min_simlarity"):
        compose_job("scan", ["match.align.min_simlarity=0.3"])
    with pytest.raises(ConfigCompositionException, match="vidio"):
        compose_job("scan", ["match.modality.vidio.align.min_hits=7"])
    with pytest.raises(ConfigCompositionException, match="min_similarity"):  # a key belongs to its step
        compose_job("scan", ["match.modality.audio.min_similarity=0.3"])


def _checked_fields(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field]]:
    """(dotted key, field) of every field of the dataclass ``cls`` (nested ones included) that declares a range or
    choices."""
    found = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            found += _checked_fields(hints[f.name], f"{prefix}{f.name}.")
        elif "range" in f.metadata or "choices" in f.metadata:
            found.append((f"{prefix}{f.name}", f))
    return found


@pytest.mark.parametrize("config", ["scan", "ingest", "nightly", "reindex", "make_benchmark", "evaluate",
                                    "train=audio", "train=visual", "inventory", "review", "fit_projection"])
def test_a_value_out_of_its_range_or_choices_is_a_user_error_naming_the_key(config):
    config, _, modality = config.partition("=")  # train: the options of one modality's training too
    cfg = compose_job(config, [f"train={modality}"] if modality else [])
    checked = _checked_fields(JOB_SCHEMAS[config]) + (_checked_fields(TRAIN_SCHEMAS[modality], "train.") if modality else [])
    if modality:
        assert {"train.augment.clean_anchor", "train.data.heldout_fraction", "train.loop.lr"} <= {k for k, _ in checked}
    assert checked
    if config == "scan":  # the per-modality overrides keep their steps' ranges
        assert {"match.modality.visual.calibration.hit_quantile", "model.modalities"} <= {key for key, _ in checked}
    for key, f in checked:
        low, high = f.metadata.get("range", (None, None))
        choices = f.metadata.get("choices", ())
        if str(f.type).startswith(("tuple", "list")):  # a sequence of choices
            refused = [(["bogus"], "[bogus] must be one or more of ")]
            refused += [] if f.metadata["empty_allowed"] else [([], "[] must be one or more of ")]
            allowed = [[c] for c in choices] + ([[]] if f.metadata["empty_allowed"] else [])
        else:
            refused = [("bogus", "bogus must be one of ")] if choices else []
            refused += [(v, f"{v} is out of range: it must be ")
                        for v in ([low - 1] if low is not None else []) + ([high + 1] if high is not None else [])]
            allowed = [*choices, *(v for v in (low, high) if v is not None)]  # the bounds themselves are allowed
        for value, message in refused:
            bad = cfg.copy()
            OmegaConf.update(bad, key, value)
            with pytest.raises(UserError) as refusal:
                to_options(bad, JOB_SCHEMAS[config])
            assert str(refusal.value).startswith(f"{key}={message}"), str(refusal.value)
        for value in allowed:
            edge = cfg.copy()
            OmegaConf.update(edge, key, value)
            to_options(edge, JOB_SCHEMAS[config])


def test_match_settings_are_shared_with_per_modality_overrides():
    cfg = compose_job("scan", ["match.align.max_gap=3.0", "match.modality.visual.align.min_hits=7",
                               "match.modality.audio.refine.edge_fraction=0"])
    job = to_options(cfg, JOB_SCHEMAS["scan"])
    assert isinstance(job.match, MatchConfig)
    opts = job.match.per_modality(job.model.modalities)
    assert opts["visual"].align.max_gap == 3.0 and opts["visual"].align.min_hits == 7
    assert opts["audio"].refine.edge_fraction == 0 and opts["visual"].refine.edge_fraction == 0.5
    shipped = yaml.safe_load((CONF / "match" / "default.yaml").read_text())["modality"]["audio"]
    for step, values in shipped.items():  # a per-modality value wins over the shared one
        for key, value in values.items():
            assert getattr(getattr(opts["audio"], step), key) == value
    audio_only = to_options(compose_job("scan", ["model.modalities=[audio]"]), JOB_SCHEMAS["scan"])
    assert set(audio_only.match.per_modality(audio_only.model.modalities)) == {"audio"}


def test_cluster_and_s3_variants_compose():
    job = to_options(compose_job("scan", ["ray=cluster", "index=s3", "model.modalities=[audio]"]), JOB_SCHEMAS["scan"])
    assert job.ray.embed.gpus == 1.0 and job.ray.address == "auto" and job.ray.embed.actors == 8
    assert job.index.uri.startswith("s3://")
    assert job.model.modalities == ("audio",)


def test_defaults_reach_the_option_objects():
    job = to_options(compose_job("scan"), JOB_SCHEMAS["scan"])
    assert job.index.uri == "outputs/lancedb" and job.media.sample_rate == 16000
    assert job.model.query_steps() == {"audio": 0.5, "visual": 0.5}
    assert job.model.audio.checkpoint.endswith("audio_v2.pt")


def test_cluster_launcher_config_is_valid():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml.safe_load((REPO / "cluster.yaml").read_text()))
    validate_config(config)
    types = config["available_node_types"]
    assert {"head", "cpu_decode", "gpu_embed"} <= set(types)
    assert any("pip install" in c and "-e" in c for c in config["setup_commands"])

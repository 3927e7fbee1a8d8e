"""cluster.yaml, the Ray cluster launcher config: Ray's own launcher validation accepts it, and it agrees with the
project (images with the pinned Ray and a supported Python, a head that runs no tasks, torch pinned and CPU-only
where there is no GPU, every custom resource the stages ask for provided by some node type)."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
CLUSTER_YAML = REPO / "cluster.yaml"
STAGES_YAML = REPO / "conf" / "ray" / "cluster.yaml"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# Ray's tag scheme: {ray version}-py{python}-{cpu|gpu|cuXXX}
IMAGE = re.compile(r"^[^:@\s]+:(?P<ray>\d+\.\d+\.\d+)-py3(?P<minor>\d+)-(?P<platform>cpu|gpu|cu\d+)$")
GPU_INSTANCE = re.compile(r"^(g|gr|p)\d")  # EC2 families with NVIDIA GPUs: g4dn, g5, g6, p4d, p5, ...
BUILTIN_RESOURCES = frozenset({"CPU", "GPU", "memory", "object_store_memory"})
CPU_TORCH_INDEX = "download.pytorch.org/whl/cpu"


def pinned(name: str) -> str:
    """The exact version pyproject.toml pins the dependency ``name`` to."""
    req = next(r for r in map(Requirement, PYPROJECT["dependencies"]) if r.name == name)
    (spec,) = req.specifier
    assert spec.operator == "==", f"{name} is not pinned exactly in pyproject.toml: {req}"
    return spec.version


def min_python_minor() -> int:
    """The lowest Python 3 minor version requires-python allows."""
    lower = next(s for s in SpecifierSet(PYPROJECT["requires-python"]) if s.operator == ">=")
    return int(lower.version.split(".")[1])


def node_images(config: dict[str, Any]) -> dict[str, str | None]:
    """The image each node type runs, with the launcher's precedence (a node type's docker.worker_image, then
    docker.head_image or docker.worker_image, then docker.image)."""
    docker = config.get("docker", {})
    images: dict[str, str | None] = {}
    for name, node in config["available_node_types"].items():
        if name == config["head_node_type"]:
            images[name] = docker.get("head_image", docker.get("image"))
        else:
            images[name] = node.get("docker", {}).get("worker_image", docker.get("worker_image", docker.get("image")))
    return images


def image_problems(config: dict[str, Any], ray_version: str, min_minor: int) -> list[str]:
    """What is wrong with the Docker images ``config`` names; empty when every node runs a Ray ``ray_version``
    image with Python 3.``min_minor`` or newer."""
    problems = [f"node type {name} runs no Docker image (it would get the AMI's Python)"
                for name, image in node_images(config).items() if not image]
    docker = config.get("docker", {})
    named = [docker[key] for key in ("image", "head_image", "worker_image") if key in docker]
    named += [node["docker"]["worker_image"] for node in config["available_node_types"].values()
              if "worker_image" in node.get("docker", {})]
    for image in named:
        match = IMAGE.match(image)
        if match is None:
            problems.append(f"{image}: not a <repository>:<ray>-py3XX-<cpu|gpu|cuXXX> tag")
            continue
        if int(match["minor"]) < min_minor:
            problems.append(f"{image}: Python 3.{match['minor']} < 3.{min_minor} (requires-python)")
        if match["ray"] != ray_version:
            problems.append(f"{image}: Ray {match['ray']} != {ray_version} pinned in pyproject.toml")
    return problems


def requested_resources(tree: Any) -> list[dict[str, float]]:
    """Every ``resources`` mapping anywhere in a loaded YAML tree."""
    if isinstance(tree, dict):
        found = [tree["resources"]] if isinstance(tree.get("resources"), dict) else []
        return found + [r for value in tree.values() for r in requested_resources(value)]
    if isinstance(tree, list):
        return [r for value in tree for r in requested_resources(value)]
    return []


def resource_problems(config: dict[str, Any], stages: Any) -> list[str]:
    """Custom resources the stage config asks for that no node type provides in that amount."""
    problems = []
    for request in requested_resources(stages):
        for name, amount in request.items():
            if name in BUILTIN_RESOURCES:
                continue
            most = max(node.get("resources", {}).get(name, 0) for node in config["available_node_types"].values())
            if most < amount:
                problems.append(f"resource {name}: {amount} asked for, at most {most} on a node type")
    return problems


def is_gpu_node(node: dict[str, Any]) -> bool:
    return bool(GPU_INSTANCE.match(node["node_config"]["InstanceType"]))


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load(CLUSTER_YAML.read_text())


@pytest.fixture(scope="module")
def prepared(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as `ray up` sees it: merged with the AWS defaults and setup commands merged."""
    from ray.autoscaler._private.util import prepare_config

    return prepare_config(copy.deepcopy(config))


def test_ray_launcher_validation_accepts_it(prepared):
    pytest.importorskip("jsonschema", reason="Ray's launcher validation (validate_config) needs jsonschema")
    from ray.autoscaler._private.util import validate_config

    validate_config(prepared)


def test_head_node_type_exists_and_runs_no_tasks(config):
    head = config["head_node_type"]
    assert head in config["available_node_types"]
    assert config["available_node_types"][head]["resources"].get("CPU") == 0


def test_images_have_the_pinned_ray_and_a_supported_python(config):
    assert image_problems(config, pinned("ray"), min_python_minor()) == []


def test_gpu_nodes_and_only_they_run_cuda_images(config):
    for name, image in node_images(config).items():
        platform = IMAGE.match(image)["platform"]
        assert (platform != "cpu") == is_gpu_node(config["available_node_types"][name]), (name, image)


def test_image_checks_fail_on_a_wrong_python_or_ray(config):
    for tag, wrong in (("2.60.0-py310-cpu", "Python 3.10"), ("2.59.0-py311-cpu", "Ray 2.59.0"), ("latest", "tag")):
        bad = copy.deepcopy(config)
        bad["docker"]["image"] = f"rayproject/ray:{tag}"
        assert any(wrong in p for p in image_problems(bad, "2.60.0", 11)), tag


def test_every_node_installs_the_pinned_torch_before_avm(prepared):
    torch = f"torch=={pinned('torch')}"
    for name, node in prepared["available_node_types"].items():
        if name == prepared["head_node_type"]:
            commands = prepared["head_setup_commands"]
        else:
            commands = node.get("worker_setup_commands", prepared["worker_setup_commands"])
        torch_at = next((i for i, c in enumerate(commands) if torch in c), None)
        avm_at = next((i for i, c in enumerate(commands) if "~/avm" in c), None)
        assert torch_at is not None and avm_at is not None and torch_at < avm_at, (name, commands)
        assert (CPU_TORCH_INDEX in commands[torch_at]) != is_gpu_node(node), (name, commands[torch_at])


def test_stage_resources_are_provided_by_some_node_type(config):
    assert resource_problems(config, yaml.safe_load(STAGES_YAML.read_text())) == []


def test_resource_check_fails_on_a_missing_resource(config):
    stages = {"decode": {"resources": {"decode": 1}}, "embed": {"resources": {"embed": 2, "GPU": 1}},
              "query": {"resources": {"nvme": 1}}}
    assert resource_problems(config, stages) == ["resource embed: 2 asked for, at most 1 on a node type",
                                                 "resource nvme: 1 asked for, at most 0 on a node type"]


def test_config_groups_named_in_the_comments_exist():
    header = "\n".join(line for line in CLUSTER_YAML.read_text().splitlines() if line.startswith("#"))
    named = re.findall(r"(?<![\w.])(\w+)=(\w+)", header)
    groups = [(group, option) for group, option in named if (REPO / "conf" / group).is_dir()]
    assert ("ray", "cluster") in groups and ("index", "s3") in groups
    for group, option in groups:
        assert (REPO / "conf" / group / f"{option}.yaml").is_file(), f"{group}={option}"

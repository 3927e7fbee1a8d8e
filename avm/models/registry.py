"""Build embedders from config and load their checkpoints; every model has a version string."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avm.models.audio_cnn import AudioCNN, AudioCNNConfig
from avm.models.visual_cnn import VisualCNN, VisualCNNConfig
from avm.models.visual_tiny import VisualTiny, VisualTinyConfig
from avm.paths import PACKAGE_ROOT, resolve_path

_ARCHITECTURES: dict[str, tuple[type[nn.Module], type]] = {
    "audio_cnn": (AudioCNN, AudioCNNConfig),
    "visual_tiny": (VisualTiny, VisualTinyConfig),
    "visual_cnn": (VisualCNN, VisualCNNConfig),
}


@dataclass
class ModelSpec:
    """Which model to run for one modality."""

    architecture: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    # a file written by save_checkpoint (a relative path that is not found from the working directory is looked
    # up from the repository root, see avm.paths.resolve_path); None = untrained, seeded weights
    checkpoint: str | None = None
    seed: int = 0


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _model_digest(model: nn.Module) -> str:
    """Digest of the weights and of every hyper-parameter that differs from its default (a front-end setting
    changes the fingerprints as much as a weight does; defaults are left out so that versions stay stable)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    config = getattr(model, "config", None)
    if dataclasses.is_dataclass(config):
        defaults = dataclasses.asdict(type(config)())
        changed = {k: v for k, v in dataclasses.asdict(config).items() if defaults.get(k) != v}
        if changed:
            digest.update(json.dumps(changed, sort_keys=True).encode())
    return digest.hexdigest()[:10]


def build_model(spec: ModelSpec) -> tuple[nn.Module, str]:
    """Instantiate ``spec`` in eval mode and return it with its version (architecture + digest of the weights
    and of any non-default hyper-parameter)."""
    if spec.architecture not in _ARCHITECTURES:
        raise ValueError(f"unknown architecture {spec.architecture!r}; known: {sorted(_ARCHITECTURES)}")
    module_cls, config_cls = _ARCHITECTURES[spec.architecture]
    params = dict(spec.params)
    state = None
    if spec.checkpoint:
        path = resolve_path(spec.checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"model checkpoint {spec.checkpoint!r} not found (nor under {PACKAGE_ROOT})")
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("architecture") != spec.architecture:
            raise ValueError(f"{spec.checkpoint}: checkpoint is for {saved.get('architecture')!r}, "
                             f"config asks for {spec.architecture!r}")
        params = {**saved["params"], **params}
        state = saved["state_dict"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = module_cls(config_cls(**params))
    if state is not None:
        model.load_state_dict(state)
    model.eval()
    return model, f"{spec.architecture}-{_model_digest(model)}"


def save_checkpoint(model: nn.Module, architecture: str, path: str | Path) -> None:
    """Write ``model`` so that :func:`build_model` can load it (weights + hyper-parameters)."""
    torch.save({"architecture": architecture, "params": dataclasses.asdict(model.config),
                "state_dict": model.state_dict()}, path)

"""Models: torch modules, front ends and checkpoint loading (torch only here and in fingerprint/)."""

from avm.models.audio import AudioEmbedder, AudioModelConfig
from avm.models.registry import ModelSpec, build_model, resolve_device, save_checkpoint
from avm.models.visual import VisualEmbedder, VisualModelConfig
from avm.models.visual_cnn import VisualCNN, VisualCNNConfig

__all__ = ["AudioEmbedder", "AudioModelConfig", "ModelSpec", "VisualCNN", "VisualCNNConfig", "VisualEmbedder",
           "VisualModelConfig", "build_model", "resolve_device", "save_checkpoint"]

"""Models: torch modules, front ends and checkpoint loading; one module per architecture key of the registry."""

from avm.models.audio_cnn import AudioCNN, AudioCNNConfig
from avm.models.registry import ModelSpec, build_model, resolve_device, save_checkpoint
from avm.models.visual_cnn import VisualCNN, VisualCNNConfig
from avm.models.visual_tiny import VisualTiny, VisualTinyConfig

__all__ = ["AudioCNN", "AudioCNNConfig", "ModelSpec", "VisualCNN", "VisualCNNConfig", "VisualTiny",
           "VisualTinyConfig", "build_model", "resolve_device", "save_checkpoint"]

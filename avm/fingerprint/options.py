"""Which model fingerprints each modality and how its embeddings are pooled (the ``model`` config group)."""

from __future__ import annotations

from dataclasses import dataclass, field

from avm.config import one_of, ranged
from avm.fingerprint.pooling import PoolingOptions
from avm.models import ModelSpec
from avm.schema import MODALITIES


@dataclass
class ModalityModel(ModelSpec):
    """One modality's model, its interval window and index step, the finer step of query fingerprints, and the
    projection that makes its fingerprints compact."""

    pooling: PoolingOptions = field(default_factory=PoolingOptions)
    query_step: float = ranged(0.5, 0.0)  # queries are pooled at this step (at most the index step); 0: the index step
    # an .npz of avm.fingerprint.projection fitted on this model (avm fit-projection): fingerprints are projected
    # to its fewer dimensions; None: the model's own embeddings
    projection: str | None = None

    def spec(self) -> ModelSpec:
        """The model alone (what its version string is computed from)."""
        return ModelSpec(self.architecture, dict(self.params), self.checkpoint, self.seed)


def _shipped_audio() -> ModalityModel:
    # 1 s windows as trained; a 0.5 s step covers every instant by two windows and keeps any query within
    # 0.25 s of an index window; projected to 64 dimensions (half the bytes, avm/models/checkpoints/projections.md)
    return ModalityModel("audio_cnn", checkpoint="avm/models/checkpoints/audio_v2.pt",
                         pooling=PoolingOptions(window=1.0, step=0.5), query_step=0.5,
                         projection="avm/models/checkpoints/audio_v2_pca64.npz")


def _shipped_visual() -> ModalityModel:
    # 2 s windows (4 frames at 2 fps) every 1 s average out the frame-sampling phase of a copy; a 0.5 s query
    # step keeps any query within 0.25 s of an index window. Not projected by default: visual_v1_pca32.npz costs
    # the picture its hold on repeated pictures (avm/models/checkpoints/projections.md)
    return ModalityModel("visual_cnn", checkpoint="avm/models/checkpoints/visual_v1.pt",
                         pooling=PoolingOptions(window=2.0, step=1.0), query_step=0.5)


@dataclass
class FingerprintOptions:
    """Models and pooling per modality, and how inference is batched. Defaults: the shipped models (model cards in
    avm/models/checkpoints/); a relative checkpoint path not found from the working directory is read from the
    package root."""

    modalities: tuple[str, ...] = one_of(MODALITIES, MODALITIES)
    device: str = "auto"  # cuda when present, else cpu
    audio_chunk_seconds: float = ranged(60.0, 1.0)  # long audio runs as a batch of chunks (with context) of this length
    batch_size: int = ranged(16, 1)  # audio chunks per forward pass
    frame_batch_size: int = ranged(512, 1)  # video frames per forward pass
    threads: int = ranged(1, 0)  # torch intra-op threads per worker on CPU; 0 = torch's default
    audio: ModalityModel = field(default_factory=_shipped_audio)
    visual: ModalityModel = field(default_factory=_shipped_visual)

    def model(self, modality: str) -> ModalityModel:
        """The model settings of ``modality``."""
        if modality not in ("audio", "visual"):
            raise ValueError(f"unknown modality {modality!r}; expected audio or visual")
        return self.audio if modality == "audio" else self.visual

    def query_steps(self) -> dict[str, float]:
        """The pooling step of query fingerprints per configured modality that sets one."""
        return {m: float(self.model(m).query_step) for m in self.modalities if self.model(m).query_step}

"""Run each modality's model once over a decoded stream, then pool interval embeddings."""

from __future__ import annotations

import math

import numpy as np
import torch

from avm.errors import UserError
from avm.fingerprint.options import FingerprintOptions, ModalityModel
from avm.fingerprint.pooling import PoolingOptions, pool_intervals
from avm.fingerprint.projection import Projection
from avm.media import DecodedMedia, Span
from avm.models import build_model, resolve_device
from avm.types import Fingerprints


def load_model(settings: ModalityModel) -> tuple[torch.nn.Module, Projection | None, str]:
    """The model of ``settings``, its projection (None without one) and the version of its fingerprints (the
    model's version, followed by the projection's tag when there is one)."""
    model, version = build_model(settings.spec())
    if not settings.projection:
        return model, None, version
    projection = Projection.load(settings.projection)
    if projection.model_version != version:
        raise UserError(f"projection {settings.projection} was fitted on {projection.model_version}, "
                         f"not on the configured model {version}: set model.<modality>.projection=null with "
                         f"another checkpoint, or fit one for it (avm fit-projection)")
    return model, projection, projection.version(version)


def fingerprint_version(settings: ModalityModel) -> str:
    """The version string of the fingerprints that ``settings`` make."""
    return load_model(settings)[2]


class Fingerprinter:
    """Holds the loaded models; ``fingerprint(decoded)`` → {modality: Fingerprints}."""

    def __init__(self, opts: FingerprintOptions) -> None:
        self.opts = opts
        self.device = resolve_device(opts.device)
        if opts.threads and self.device.type == "cpu":
            torch.set_num_threads(opts.threads)
        self.models: dict[str, torch.nn.Module] = {}
        self.projections: dict[str, Projection] = {}
        self.versions: dict[str, str] = {}
        for modality in opts.modalities:
            model, projection, version = load_model(opts.model(modality))
            self.models[modality] = model.to(self.device)
            self.versions[modality] = version
            if projection is not None:
                self.projections[modality] = projection

    def dims(self) -> dict[str, int]:
        """Fingerprint dimension of each modality (the projection's where there is one)."""
        return {m: self.projections[m].dim if m in self.projections else model.dim for m, model in self.models.items()}

    @torch.inference_mode()
    def audio_context(self, audio: np.ndarray) -> torch.Tensor:
        """Contextual embeddings [T, D] of a whole waveform, computed in batched chunks with context."""
        model = self.models["audio"]
        hop = int(round(model.hop_seconds * model.config.sample_rate))
        chunk = max(hop, int(self.opts.audio_chunk_seconds * model.config.sample_rate) // hop * hop)
        context = -(-model.context_samples // hop) * hop
        wave = torch.from_numpy(np.array(audio, dtype=np.float32, copy=True)).to(self.device)
        windows = [(max(0, s - context), s, min(len(wave), s + chunk + context)) for s in range(0, len(wave), chunk)]
        total = len(wave) // hop + 1  # frames of one pass over the whole stream (centred STFT)
        pieces: dict[int, torch.Tensor] = {}
        # Windows of equal length share a forward pass; the (shorter) last one runs alone, never zero-padded,
        # so chunked inference equals one pass over the whole stream.
        for length in sorted({stop - begin for begin, _, stop in windows}):
            same = [w for w in windows if w[2] - w[0] == length]
            for first in range(0, len(same), self.opts.batch_size):
                group = same[first:first + self.opts.batch_size]
                out = model(torch.stack([wave[begin:stop] for begin, _, stop in group]))
                for (begin, start, _), emb in zip(group, out, strict=True):
                    skip = (start - begin) // hop
                    pieces[start] = emb[skip:skip + min(chunk // hop, total - start // hop)]
        pieces = [pieces[start] for start in sorted(pieces)]
        return torch.cat(pieces) if pieces else torch.zeros(0, model.dim, device=self.device)

    @torch.inference_mode()
    def visual_context(self, frames: np.ndarray) -> torch.Tensor:
        """Per-frame embeddings [N, D] in batches."""
        model = self.models["visual"]
        tensor = torch.from_numpy(np.array(frames, dtype=np.uint8, copy=True))
        outs = [model(tensor[i:i + self.opts.frame_batch_size].to(self.device))
                for i in range(0, len(tensor), self.opts.frame_batch_size)]
        return torch.cat(outs) if outs else torch.zeros(0, model.dim, device=self.device)

    def _piece_frames(self, modality: str, span: Span, n_units: int, window: float,
                      frame_rate: float) -> tuple[int, int, int]:
        """A piece's embedding frames, in frames of the stream: its first, the first it answers for, and the one
        before which the windows it answers for start. ValueError when its margins are too short for the
        embeddings and windows it answers for to be those of the whole stream."""
        if modality == "audio":
            model = self.models["audio"]
            per_frame = int(round(model.hop_seconds * model.config.sample_rate))
            lead, tail = model.context_samples, model.context_samples + int(window * model.config.sample_rate)
        else:
            per_frame, lead, tail = 1, 0, int(math.ceil(window * frame_rate))
        if span.first % per_frame or span.keep_start % per_frame:
            raise ValueError(f"a {modality} piece at sample {span.first} is off the {per_frame}-sample frame grid: "
                             f"set media.chunk_seconds and media.chunk_margin_seconds to whole seconds")
        short_lead = span.keep_start - span.first < (lead if span.keep_start else 0)
        short_tail = not span.last and span.first + n_units - span.keep_stop < tail
        if short_lead or short_tail:
            raise ValueError(f"media.chunk_margin_seconds is shorter than the {modality} model's context and window")
        return span.first // per_frame, span.keep_start // per_frame, -(-span.keep_stop // per_frame)

    def fingerprint(self, media: DecodedMedia, steps: dict[str, float] | None = None) -> dict[str, Fingerprints]:
        """Interval fingerprints of every modality present; ``steps`` overrides the pooling step (queries).

        A piece of a long file (its streams' spans set) gives the intervals starting in the part it answers for,
        the same as the whole file gives there."""
        results: dict[str, Fingerprints] = {}
        if media.audio is not None and "audio" in self.models:
            expected = self.models["audio"].config.sample_rate
            if media.sample_rate != expected:
                raise ValueError(f"audio decoded at {media.sample_rate} Hz but the audio model expects {expected} Hz")
        streams = {"audio": (media.audio, media.audio_span, lambda: self.audio_context(media.audio),
                             lambda: self.models["audio"].hop_seconds),
                   "visual": (media.frames, media.frames_span, lambda: self.visual_context(media.frames),
                              lambda: 1.0 / media.frame_rate)}
        for modality in self.opts.modalities:
            data, span, run, hop = streams[modality]
            if data is None:
                continue
            pooling = self.opts.model(modality).pooling
            if steps and modality in steps:
                pooling = PoolingOptions(pooling.window, steps[modality], pooling.min_window_fraction)
            first, start, stop = 0, 0, None
            if span is not None:
                first, start, stop = self._piece_frames(modality, span, len(data), pooling.window, media.frame_rate)
            context = run()[start - first:]
            t_start, t_end, vectors = pool_intervals(context, hop(), pooling, start, stop)
            if modality in self.projections:
                vectors = self.projections[modality].apply(vectors)
            if len(t_start):
                results[modality] = Fingerprints(modality, t_start, t_end, vectors, self.versions[modality])
        return results

"""Held-out evaluation: top-1 retrieval of edited query segments through the real fingerprint code path.

The database holds every interval of the held-out tracks (files never used for training), fingerprinted by
:class:`avm.fingerprint.Fingerprinter` at the index step. For each edit (:data:`EDITS`), every held-out track
is edited as a whole, then query segments of each length (1 s and 5 s by default) are cut at random places
and fingerprinted *alone* (no surrounding context, at the query step), exactly as ``avm scan`` would.

- A query's answer: each query interval's ``top_k`` nearest database intervals vote for (track, time offset
  rounded to the index step) with their similarity; the heaviest (track, offset) wins. For a 1 s query (one
  interval) this is the top-1 neighbour.
- It is correct when the track is right and the offset is within one index step of the truth (the truth
  at the middle of the query, since a speed change makes the offset drift along it).

Edits are fixed, mid-to-hard instances of what training randomises, made by independent code where
possible (ffmpeg filters and codecs; torch only for mixing and the synthetic room). :data:`HARD_EDITS` adds
harder ones (speed ±25 %, pitch ±4 semitones, mixes at -5 dB SNR), scored only when named (``extra_edits``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from avm.fingerprint import Fingerprinter
from avm.media import DecodedMedia, MediaInfo, StreamInfo
from avm.media.transform import transform_audio
from avm.train.audio.augment import coloured_noise, mix_at_snr, reverb, synthetic_ir
from avm.train.audio.data import Track


@dataclass
class EvalOptions:
    """Size and shape of the held-out evaluation (``train.eval`` of train=audio)."""

    max_seconds: float = 1800.0  # held-out audio in the database (the middle of each track, shared equally)
    queries: int = 200  # per edit and query length
    query_seconds: tuple[float, ...] = (1.0, 5.0)
    edits: tuple[str, ...] | None = None  # None = every edit of EDITS
    # scored after ``edits`` but left out of their mean (``mean_extra`` instead), so that ``mean`` stays comparable
    # with earlier runs: e.g. the hard edits of HARD_EDITS
    extra_edits: tuple[str, ...] = ()
    top_k: int = 5
    seed: int = 0


@dataclass
class EditMedia:
    """What an edit may mix in: music not in the database, speech, and a seeded random stream."""

    music: list[np.ndarray]
    speech: list[np.ndarray]
    rng: np.random.Generator


EvalEdit = Callable[[np.ndarray, int, EditMedia], tuple[np.ndarray, float]]  # → (edited, speed factor)


def _filters(text: str) -> EvalEdit:
    return lambda wave, rate, media: (transform_audio(wave, rate, filters=text), 1.0)


def _codec(codec: str, bitrate: str) -> EvalEdit:
    return lambda wave, rate, media: (transform_audio(wave, rate, codec=codec, bitrate=bitrate), 1.0)


def _speed(factor: float) -> EvalEdit:
    """Tape-style speed change (pitch follows) by ffmpeg's asetrate + aresample."""
    return lambda wave, rate, media: (transform_audio(
        wave, rate, filters=f"asetrate={round(rate * factor)},aresample={rate}", align=False), factor)


def _pitch(semitones: float) -> EvalEdit:
    return _filters(f"rubberband=pitch={2 ** (semitones / 12):.6f}")


def _other(signals: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    signal = np.asarray(signals[rng.integers(len(signals))], np.float32)
    signal = np.tile(signal, -(-n // len(signal)))
    start = rng.integers(len(signal) - n + 1)
    return signal[start:start + n]


def _mix(kind: str, snr_db: float) -> EvalEdit:
    """Pink noise, other music or speech mixed in at ``snr_db`` (power over the whole track)."""
    def edit(wave: np.ndarray, rate: int, media: EditMedia) -> tuple[np.ndarray, float]:
        n = len(wave)
        if kind == "noise":
            other = coloured_noise(1, n, torch.ones(1), torch.Generator().manual_seed(int(media.rng.integers(1 << 31))))
        else:
            pool = media.speech if kind == "speech" and media.speech else media.music
            other = torch.from_numpy(_other(pool, n, media.rng))[None]
        mixed = mix_at_snr(torch.from_numpy(np.asarray(wave, np.float32))[None], other, torch.tensor([snr_db]))
        return mixed[0].numpy(), 1.0
    return edit


def _room(rt60: float, drr_db: float) -> EvalEdit:
    def edit(wave: np.ndarray, rate: int, media: EditMedia) -> tuple[np.ndarray, float]:
        ir = synthetic_ir(torch.tensor([rt60]), torch.tensor([drr_db]), rate,
                          torch.Generator().manual_seed(int(media.rng.integers(1 << 31))))
        return reverb(torch.from_numpy(np.asarray(wave, np.float32))[None], ir)[0].numpy(), 1.0
    return edit


def _chain(*edits: EvalEdit) -> EvalEdit:
    def edit(wave: np.ndarray, rate: int, media: EditMedia) -> tuple[np.ndarray, float]:
        factor = 1.0
        for one in edits:
            wave, f = one(wave, rate, media)
            factor *= f
        return wave, factor
    return edit


_PHONE = ",".join(["highpass=f=300"] * 3 + ["lowpass=f=3400"] * 3)  # 36 dB/octave slopes
EDITS: dict[str, EvalEdit] = {
    "clean": lambda wave, rate, media: (np.asarray(wave, np.float32), 1.0),
    "gain_-15dB": _filters("volume=-15dB"),
    "noise_5dB": _mix("noise", 5.0),
    "music_5dB": _mix("music", 5.0),
    "speech_5dB": _mix("speech", 5.0),
    "reverb_0.8s": _room(0.8, 0.0),
    "eq_12dB": _filters("equalizer=f=200:t=o:w=1:g=12,equalizer=f=2500:t=o:w=1:g=-12"),
    "bandpass_phone": _filters(_PHONE),
    "mp3_32k": _codec("mp3", "32k"),
    "speed_+8%": _speed(1.08),
    "speed_-8%": _speed(0.92),
    "pitch_+2st": _pitch(2.0),
    "pitch_-2st": _pitch(-2.0),
    "combo": _chain(_speed(1.05), _filters(_PHONE), _mix("noise", 10.0), _codec("mp3", "32k")),
}
# hard pirate edits, beyond the mid-to-hard EDITS (not scored unless named in ``edits`` or ``extra_edits``): tape
# speed ±25 %, pitch ±4 semitones with tempo kept, and noise, music or speech mixed in at -5 dB SNR
HARD_EDITS: dict[str, EvalEdit] = {
    "speed_+25%": _speed(1.25),
    "speed_-25%": _speed(0.75),
    "pitch_+4st": _pitch(4.0),
    "pitch_-4st": _pitch(-4.0),
    "noise_-5dB": _mix("noise", -5.0),
    "music_-5dB": _mix("music", -5.0),
    "speech_-5dB": _mix("speech", -5.0),
}


def _media(wave: np.ndarray, rate: int, name: str) -> DecodedMedia:
    info = MediaInfo(name, len(wave) / rate, "pcm", (StreamInfo("audio", "pcm_f32le", sample_rate=rate, channels=1),))
    return DecodedMedia(info, np.asarray(wave, np.float32), rate, None, 0.0)


def _excerpt(track: Track, seconds: float, rate: int) -> np.ndarray:
    n = min(track.samples, int(seconds * rate))
    start = (track.samples - n) // 2
    return np.asarray(track.clean[start:start + n], np.float32)


class _Database:
    """Interval embeddings of the held-out tracks with their track index and start time."""

    def __init__(self, fp: Fingerprinter, signals: list[np.ndarray], rate: int) -> None:
        vectors, tracks, starts = [], [], []
        for i, wave in enumerate(signals):
            prints = fp.fingerprint(_media(wave, rate, f"heldout-{i}"))["audio"]
            vectors.append(prints.vectors.astype(np.float32))
            tracks.append(np.full(len(prints), i))
            starts.append(prints.t_start)
        self.vectors, self.tracks, self.starts = np.concatenate(vectors), np.concatenate(tracks), np.concatenate(starts)

    def answer(self, query: np.ndarray, query_starts: np.ndarray, k: int, step: float) -> tuple[int, float]:
        """(track, offset in seconds) that the top-``k`` hits of the query intervals vote for."""
        sims = query @ self.vectors.T
        top = np.argsort(-sims, axis=1)[:, :k]
        votes: dict[tuple[int, int], float] = {}
        for row, hits in enumerate(top):
            for hit in hits:
                key = (int(self.tracks[hit]), int(round((self.starts[hit] - query_starts[row]) / step)))
                votes[key] = votes.get(key, 0.0) + float(sims[row, hit])
        (track, offset_bin), _ = max(votes.items(), key=lambda item: item[1])
        return track, offset_bin * step


def evaluate_retrieval(fp: Fingerprinter, heldout: list[Track], opts: EvalOptions, music: list[np.ndarray],
                       speech: list[np.ndarray], sample_rate: int) -> dict:
    """Top-1 accuracy per edit and query length on ``heldout`` (see the module docstring), with the pooling and
    query step of ``fp``'s audio model; a JSON-ready dict."""
    if not heldout:
        raise ValueError("no held-out tracks to evaluate on")
    pooling, query_step = fp.opts.audio.pooling, fp.opts.audio.query_step
    signals = [_excerpt(t, opts.max_seconds / len(heldout), sample_rate) for t in heldout]
    db = _Database(fp, signals, sample_rate)
    known = {**EDITS, **HARD_EDITS}
    names = list(dict.fromkeys(opts.edits or tuple(EDITS)))
    extra = [n for n in dict.fromkeys(opts.extra_edits) if n not in names]
    unknown = set(names + extra) - set(known)
    if unknown:
        raise ValueError(f"unknown held-out edits {sorted(unknown)}; known: {list(known)}")
    results: dict[str, dict[str, float]] = {}
    for name in names + extra:
        media = EditMedia(music, speech, np.random.default_rng([opts.seed, zlib.crc32(name.encode())]))
        edited = [known[name](wave, sample_rate, media) for wave in signals]
        row: dict[str, float] = {}
        for seconds in opts.query_seconds:
            n = int(round(seconds * sample_rate))
            usable = [i for i, (wave, _) in enumerate(edited) if len(wave) > n]
            correct = 0
            for _ in range(opts.queries):
                i = usable[media.rng.integers(len(usable))]
                wave, factor = edited[i]
                start = int(media.rng.integers(len(wave) - n))
                prints = fp.fingerprint(_media(wave[start:start + n], sample_rate, "query"),
                                        steps={"audio": query_step}).get("audio")
                if prints is None:
                    continue
                track, offset = db.answer(prints.vectors.astype(np.float32), prints.t_start, opts.top_k, pooling.step)
                middle = (seconds - pooling.window) / 2  # query-local start of the middle interval
                truth = (start / sample_rate + middle) * factor - middle
                correct += int(track == i and abs(offset - truth) <= pooling.step)
            row[f"top1_{seconds:g}s"] = correct / opts.queries
        results[name] = row
    keys = [f"top1_{s:g}s" for s in opts.query_seconds]
    mean = {k: float(np.mean([results[n][k] for n in names])) for k in keys}
    summary = {"edits": results, "mean": mean}
    if extra:
        summary["mean_extra"] = {k: float(np.mean([results[n][k] for n in extra])) for k in keys}
    return {**summary, "database_intervals": len(db.vectors), "heldout_tracks": len(signals),
            "heldout_seconds": round(sum(len(s) for s in signals) / sample_rate, 1),
            "pooling": {"window": pooling.window, "index_step": pooling.step, "query_step": query_step},
            "queries_per_edit_and_length": opts.queries, "top_k": opts.top_k}


"""Chromaprint peer: ``fpcalc`` raw fingerprints and a simple offset aligner → audio segment pairs.

Fingerprints: the audio is decoded by AVM's ffmpeg (``avm.media.ffmpeg_exe()``) to 16-bit mono PCM at 11025 Hz
and piped into ``fpcalc -raw -length 0 -json -format s16le -rate 11025 -channels 1 -`` (no shell, no temporary
file; fpcalc could open most containers itself, but this way both systems decode the same way). The result is
one 32-bit item per 1365 samples at 11025 Hz (Chromaprint's default algorithm: 4096-sample frames at a third
hop, ``item_duration() = frame_size − frame_overlap`` in ``fingerprinter_configuration.h``): 0.1238 s, 8.08
items per second. Each item depends on ``frame + (5 − 1 + 16 − 1)·hop`` = 30031 samples (2.72 s) of audio
(chroma filter of 5 frames, classifier filters up to 16 frames wide); an item's time is the centre of that span.

Aligner, per query: every query item and its variants within 2 flipped bits are looked up in a hash index of
all reference items (sorted array + ``searchsorted``); each hit votes for (reference, item offset). A query
item equal to its predecessor does not vote (silence and steady tones give long runs of one item), and item
values that recur more than ``max_postings`` times in the references are not indexed. At the strongest
offsets (distinct voting query items within ±1 item) the bit error rate (BER) of every aligned item pair is
computed and smoothed over ``smooth`` seconds; every run with smoothed BER ≤ ``max_ber`` that lasts
``min_duration`` and holds ``min_votes`` of the offset's hits becomes a segment pair, scored ``1 − mean BER``.
A run that reaches the first or last aligned item is extended to the start or end of the audio (no item is
centred there). Overlapping pairs of one reference are reduced to the strongest (AVM's ``suppress_overlaps``).
No speed or pitch change is modelled: Chromaprint is not robust to either.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field

import ffmpeg
import numpy as np

from avm.match import AlignOptions, suppress_overlaps
from avm.media import MediaError, ffmpeg_exe, probe
from avm.media.source import check_input
from avm.types import Segment

SAMPLE_RATE = 11025  # Chromaprint's internal sample rate
ITEM_SAMPLES = 4096 - (4096 - 4096 // 3)  # frame size − frame overlap = 1365
ITEM_SECONDS = ITEM_SAMPLES / SAMPLE_RATE  # 0.1238 s
SPAN_SECONDS = (4096 + (5 - 1 + 16 - 1) * ITEM_SAMPLES) / SAMPLE_RATE  # audio one item depends on: 2.72 s
BITS = 32


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.uint32)).astype(np.int64)


def _bit_flip_masks(max_bits: int) -> np.ndarray:
    """Every 32-bit mask with at most ``max_bits`` bits set (1 + 32 + 496 for 2 bits)."""
    masks = [0]
    if max_bits >= 1:
        masks += [1 << a for a in range(BITS)]
    if max_bits >= 2:
        masks += [(1 << a) | (1 << b) for a in range(BITS) for b in range(a + 1, BITS)]
    if max_bits > 2:
        raise ValueError("at most 2 flipped bits are enumerated")
    return np.asarray(masks, dtype=np.uint32)


def item_start(i: int) -> float:
    """Start (seconds) of item ``i``: one hop centred on the middle of the audio it depends on."""
    return i * ITEM_SECONDS + (SPAN_SECONDS - ITEM_SECONDS) / 2


def fpcalc_exe() -> str:
    """Path of ``fpcalc`` (Debian: ``libchromaprint-tools``); raises when it is not installed."""
    exe = shutil.which("fpcalc")
    if exe is None:
        raise FileNotFoundError("fpcalc not found: run benchmarks/peers/install.sh (apt libchromaprint-tools)")
    return exe


def fingerprint_pcm(pcm: bytes) -> np.ndarray:
    """Raw Chromaprint items (uint32) of 16-bit mono PCM at 11025 Hz, through ``fpcalc`` on stdin."""
    cmd = [fpcalc_exe(), "-raw", "-length", "0", "-json", "-format", "s16le", "-rate", str(SAMPLE_RATE),
           "-channels", "1", "-"]
    done = subprocess.run(cmd, input=pcm, capture_output=True, check=False)
    # fpcalc 1.5 exits 3 with "Error decoding audio frame (End of file)" after a complete pipe; the JSON decides
    try:
        items = json.loads(done.stdout)["fingerprint"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise RuntimeError(f"fpcalc failed (rc {done.returncode}): {done.stderr.decode(errors='replace')}") from exc
    return np.asarray(items, dtype=np.uint32)


def decode_pcm(uri: str) -> bytes:
    """The first audio stream of ``uri`` as 16-bit mono PCM at 11025 Hz (ffmpeg through a pipe)."""
    target, protocols = check_input(uri)
    stream = (ffmpeg.input(target, protocol_whitelist=protocols, threads=1)["a:0"]
              .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=SAMPLE_RATE))
    try:
        out, _ = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error").run(
            cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise MediaError(uri, f"ffmpeg failed: {(exc.stderr or b'').decode(errors='replace').strip()}") from exc
    return out


@dataclass(frozen=True)
class ChromaprintOptions:
    """Thresholds of the offset aligner."""

    max_hash_bits: int = 2  # query items within this many bits of a reference item are hits
    max_postings: int = 50  # item values more frequent than this in the references are not indexed
    min_votes: int = 3  # fewest hits at an offset (±1 item) for it to be checked
    max_offsets: int = 10  # strongest offsets checked per query
    max_ber: float = 0.35  # smoothed bit error rate at or below which aligned items match
    smooth: float = 1.5  # seconds the BER is averaged over
    min_duration: float = 4.0  # shortest segment reported (query side, seconds)


@dataclass
class ChromaprintIndex:
    """All reference items in one sorted array, with their owner and position."""

    prints: dict[str, np.ndarray]
    opts: ChromaprintOptions
    ids: list[str] = field(init=False)
    values: np.ndarray = field(init=False)
    owner: np.ndarray = field(init=False)
    position: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ids = sorted(self.prints)
        items = [self.prints[k] for k in self.ids]
        values = np.concatenate(items) if items else np.zeros(0, np.uint32)
        owner = np.repeat(np.arange(len(items)), [len(x) for x in items])
        position = np.concatenate([np.arange(len(x)) for x in items]) if items else np.zeros(0, np.int64)
        _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        keep = counts[inverse] <= self.opts.max_postings
        order = np.argsort(values[keep], kind="stable")
        self.values, self.owner, self.position = values[keep][order], owner[keep][order], position[keep][order]

    def votes(self, items: np.ndarray, exclude: int = -1) -> np.ndarray:
        """Distinct (reference index, item offset ref − query, query position) of every hash hit, [3, n]
        (reference ``exclude`` left out)."""
        voters = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])  # a run of one item votes once
        masks = _bit_flip_masks(self.opts.max_hash_bits)
        parts = [np.zeros((3, 0), np.int64)]
        for chunk in np.array_split(voters, max(1, len(voters) // 2048)):  # bounded memory for long queries
            variants = (items[chunk, None] ^ masks[None, :]).ravel()
            lo = np.searchsorted(self.values, variants, side="left")
            n = np.searchsorted(self.values, variants, side="right") - lo
            hit = np.repeat(lo, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
            q_hit = np.repeat(np.repeat(chunk, len(masks)), n)
            parts.append(np.stack([self.owner[hit], self.position[hit] - q_hit, q_hit]))
        hits = np.concatenate(parts, axis=1)
        return np.unique(hits[:, hits[0] != exclude], axis=1)

    def candidates(self, items: np.ndarray, exclude: int = -1) -> list[tuple[int, int, np.ndarray]]:
        """(reference index, item offset, query positions that voted for it) of the strongest offsets.

        An offset's votes are the distinct query items that hit the reference at that offset ±1 item.
        """
        hits = self.votes(items, exclude)
        if hits.shape[1] == 0:
            return []
        spread = np.unique(np.concatenate([hits + np.array([[0], [d], [0]]) for d in (-1, 0, 1)], axis=1), axis=1)
        keys, inverse, counts = np.unique(spread[:2], axis=1, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        exact_keys, exact_counts = np.unique(hits[:2], axis=1, return_counts=True)
        exact = dict(zip(map(tuple, exact_keys.T.tolist()), exact_counts.tolist(), strict=True))
        at_offset = np.asarray([exact.get(k, 0) for k in map(tuple, keys.T.tolist())])
        chosen: list[tuple[int, int, np.ndarray]] = []
        for k in np.lexsort((keys[1], keys[0], -at_offset, -counts)):  # most votes (±1, then exact) first
            if counts[k] < self.opts.min_votes or len(chosen) >= self.opts.max_offsets:
                break
            ref, offset = int(keys[0, k]), int(keys[1, k])
            if not any(ref == r and abs(offset - o) <= 2 for r, o, _ in chosen):  # not a neighbour of a stronger one
                chosen.append((ref, offset, spread[2, inverse == k]))
        return chosen

    def segments_at(self, query_id: str, items: np.ndarray, ref: int, offset: int,
                    voters: np.ndarray) -> list[Segment]:
        """Runs of low bit error rate between the query and one reference at one item offset, each holding
        at least ``min_votes`` of the offset's ``voters`` (query positions of its hash hits)."""
        ref_items = self.prints[self.ids[ref]]
        first, last = max(0, -offset), min(len(items), len(ref_items) - offset)
        if last - first <= 0:
            return []
        ber = _popcount(items[first:last] ^ ref_items[first + offset:last + offset]) / BITS
        width = max(1, round(self.opts.smooth / ITEM_SECONDS))
        kernel = np.ones(width)
        smoothed = np.convolve(ber, kernel, "same") / np.convolve(np.ones_like(ber), kernel, "same")
        good = np.r_[False, smoothed <= self.opts.max_ber, False].astype(np.int8)
        starts, ends = np.flatnonzero(np.diff(good) == 1), np.flatnonzero(np.diff(good) == -1)
        edge = item_start(0)  # audio before the first item's time (and after the last one's)
        segments = []
        for a, b in zip(starts, ends, strict=True):  # query items first+a .. first+b-1
            # a run reaching the first/last aligned item reaches the start/end of one of the two files' audio
            q0 = item_start(first + a) - (edge if a == 0 else 0.0)
            q1 = item_start(first + b) + (edge if b == last - first else 0.0)
            if q1 - q0 < self.opts.min_duration or np.count_nonzero(
                    (voters >= first + a) & (voters < first + b)) < self.opts.min_votes:
                continue
            r0 = q0 + offset * ITEM_SECONDS
            segments.append(Segment(query_id, q0, q1, self.ids[ref], r0, r0 + q1 - q0, float(1 - ber[a:b].mean()),
                                    "audio", int(b - a)))
        return segments

    def match(self, query_id: str, items: np.ndarray) -> list[Segment]:
        """Segment pairs of one query against every reference but itself."""
        if len(items) == 0 or len(self.values) == 0:
            return []
        exclude = self.ids.index(query_id) if query_id in self.ids else -1
        segments = [seg for ref, offset, voters in self.candidates(items, exclude)
                    for seg in self.segments_at(query_id, items, ref, offset, voters)]
        return suppress_overlaps(segments, AlignOptions())


@dataclass(frozen=True)
class ChromaprintPeer:
    """Chromaprint (fpcalc) fingerprints + the offset aligner above."""

    opts: ChromaprintOptions = ChromaprintOptions()
    name: str = "chromaprint"
    modality: str = "audio"

    def fingerprint(self, uri: str) -> np.ndarray | None:
        """Raw items of the file's first audio stream; ``None`` when it has none."""
        if not probe(uri).has_audio:
            return None
        return fingerprint_pcm(decode_pcm(uri))

    def build_index(self, ref_prints: dict[str, np.ndarray]) -> ChromaprintIndex:
        return ChromaprintIndex(ref_prints, self.opts)

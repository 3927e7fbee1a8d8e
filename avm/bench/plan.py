"""Plan a benchmark: decide every catalog video, query, borrowed segment and edit from a seed (no media written).

Uniqueness rules: every visual source and every music or speech file belongs to at most one catalog video
(a video may loop its own shots), so no two catalog videos share a shot or an audio excerpt; query fillers and
the media that edits lay over come only from sources kept out of the catalog. The one exception is shared
content, on purpose: an intro, an outro and a channel logo (each made of sources of its own) that many catalog
videos carry; borrowed segments never overlap an intro or outro, and some negative queries carry them. All
durations are whole seconds. A speed edit is snapped so that the reference span and the query span are both
whole seconds (its factor is exactly their ratio), so the ground truth needs no rounding.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from avm.bench.compose import MOTIONS, Canvas, Excerpt, Scene, Shot, Sound, Visual
from avm.bench.deal import deal_kinds
from avm.bench.edits import (
    CORNERS,
    EDITS,
    Edit,
    check_ranges,
    evidence_of,
    in_order,
    make_edit,
    needs_of,
    ranges_of,
    snap_tempo,
    tempo_of,
)
from avm.bench.preset import Preset
from avm.bench.sources import NotEnoughMedia, SoundCursor, Sources, discover_sources, group_sounds, join_sounds

REFERENCE, DISTRACTOR = "reference", "distractor"
PIRATED, NEGATIVE = "pirated", "negative"
INTRO, OUTRO, LOGO = "intro", "outro", "logo"
LOGO_SIZE, LOGO_OPACITY = 0.12, 0.6  # the channel logo: share of the frame width, opacity
LIGHT_EDITS = (("reencode",), ("volume",), ("volume", "reencode"))  # of shared content in negative queries


@dataclass(frozen=True)
class ChannelLogo:
    """A channel's logo: one frame of ``visual`` (at ``at`` s of footage), ``size`` of the frame width wide,
    ``opacity`` opaque, in ``corner`` (a key of :data:`avm.bench.edits.CORNERS`), over a whole video."""

    visual: Visual
    at: float
    corner: str
    size: float = LOGO_SIZE
    opacity: float = LOGO_OPACITY


def shared_label(parts: Sequence[str]) -> str:
    """``intro``, ``outro``, ``logo`` joined with ``+`` in that order (empty: no shared content)."""
    return "+".join(p for p in (INTRO, OUTRO, LOGO) if p in parts)


@dataclass(frozen=True)
class CatalogVideo:
    """A catalog video: a reference (copied by some queries) or a distractor (never copied).

    ``scene`` is its body, which ``intro`` opens and ``outro`` closes when it has them (shared content: the
    same scene in many catalog videos); ``logo`` lies over the whole video.
    """

    video_id: str
    kind: str
    scene: Scene
    intro: Scene | None = None
    outro: Scene | None = None
    logo: ChannelLogo | None = None

    @property
    def scenes(self) -> tuple[Scene, ...]:
        """Intro, body and outro, those it has, in order."""
        return tuple(s for s in (self.intro, self.scene, self.outro) if s is not None)

    @property
    def duration(self) -> int:
        return sum(s.duration for s in self.scenes)

    @property
    def reserved(self) -> tuple[tuple[int, int], ...]:
        """The spans (start, end) of its intro and outro, which no borrowed segment may overlap."""
        spans = [(0, self.intro.duration)] if self.intro is not None else []
        if self.outro is not None:
            spans.append((self.duration - self.outro.duration, self.duration))
        return tuple(spans)

    @property
    def shared(self) -> str:
        """Its shared content, e.g. ``intro+logo`` (empty: none)."""
        return shared_label([name for name, part in ((INTRO, self.intro), (OUTRO, self.outro), (LOGO, self.logo))
                             if part is not None])


@dataclass(frozen=True)
class Borrow:
    """``duration`` s cut from a reference at ``ref_start``, edited, lasting ``query_duration`` s in the query.

    ``cover`` (other picture and sound) and ``voice`` (speech) are media from outside the catalog that some
    edits lay over or swap in; None when no edit needs them.
    """

    ref_id: str
    ref_start: int
    duration: int
    query_duration: int
    edits: tuple[Edit, ...]
    cover: Scene | None = None
    voice: Excerpt | None = None

    @property
    def evidence(self) -> str:
        return evidence_of(self.edits)

    @property
    def length(self) -> int:
        """Seconds it occupies in the query."""
        return self.query_duration


@dataclass(frozen=True)
class SharedClip:
    """Shared catalog content (``part``: intro or outro, its ``scene``) spliced into a negative query, with
    light ``edits`` (none, a re-encode, a volume change). Not a copy of any one reference: no ground truth."""

    part: str
    scene: Scene
    edits: tuple[Edit, ...] = ()

    @property
    def length(self) -> int:
        return self.scene.duration


@dataclass(frozen=True)
class QueryPlan:
    """A query: its pieces (filler scenes, borrowed segments, shared clips) in order, and a channel ``logo``
    over the whole of it (shared negative queries only)."""

    query_id: str
    kind: str
    pieces: tuple[Scene | Borrow | SharedClip, ...]
    logo: ChannelLogo | None = None

    @property
    def shared(self) -> str:
        """The shared catalog content it carries, e.g. ``intro+logo`` (empty: none)."""
        parts = [p.part for p in self.pieces if isinstance(p, SharedClip)]
        return shared_label(parts + ([LOGO] if self.logo is not None else []))

    @property
    def duration(self) -> int:
        return sum(_length(p) for p in self.pieces)

    def borrows(self) -> list[tuple[int, Borrow]]:
        """(query start second, borrow) of every borrowed piece."""
        found, position = [], 0
        for piece in self.pieces:
            if isinstance(piece, Borrow):
                found.append((position, piece))
            position += _length(piece)
        return found


def _length(piece: Scene | Borrow | SharedClip) -> int:
    return piece.length if isinstance(piece, (Borrow, SharedClip)) else piece.duration


# Fields added after plans were first hashed: left out of the digest while empty, so that a plan without them
# keeps the digest (and an already built benchmark its build marker).
_LATE_FIELDS = frozenset({"intro", "outro", "logo"})


def _plain(obj: Any) -> Any:
    """``obj`` as JSON-ready data, as ``dataclasses.asdict`` gives it, minus late fields left empty."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(value) for f in fields(obj)
                if not ((value := getattr(obj, f.name)) is None and f.name in _LATE_FIELDS)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class BenchPlan:
    name: str
    seed: int
    catalog: tuple[CatalogVideo, ...]
    queries: tuple[QueryPlan, ...]
    canvas: Canvas = field(default_factory=Canvas)

    @property
    def refs(self) -> tuple[CatalogVideo, ...]:
        return tuple(v for v in self.catalog if v.kind == REFERENCE)

    @property
    def distractors(self) -> tuple[CatalogVideo, ...]:
        return tuple(v for v in self.catalog if v.kind == DISTRACTOR)

    def segments(self) -> list[tuple[QueryPlan, int, Borrow]]:
        """Every borrowed segment: (query, its start second in the query, borrow), in ground-truth order."""
        return [(q, start, b) for q in self.queries for start, b in q.borrows()]

    def ground_truth(self) -> list[tuple[str, str, str, str]]:
        """Rows of the hackathon ground truth: query file, "start-end", reference file, "start-end"."""
        return [(f"{q.query_id}.mp4", f"{start}-{start + b.query_duration}",
                 f"{b.ref_id}.mp4", f"{b.ref_start}-{b.ref_start + b.duration}") for q, start, b in self.segments()]

    def edit_rows(self) -> list[tuple[str, ...]]:
        """Ground-truth rows with the edits (``;``-joined labels) and the evidence left."""
        return [(*gt, ";".join(e.label() for e in b.edits), b.evidence)
                for gt, (_, _, b) in zip(self.ground_truth(), self.segments(), strict=True)]

    def edit_counts(self) -> dict[str, int]:
        """Segments per edit kind (every registered kind, zeros included)."""
        counts = Counter(e.name for _, _, b in self.segments() for e in b.edits)
        return {name: counts.get(name, 0) for name in EDITS}

    def digest(self) -> str:
        """A stable hash of the whole plan (changes when the seed, preset or media change)."""
        text = json.dumps(_plain(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- helpers -----------------------------------------------------------------------------------------------

def _split(rng: random.Random, total: int, parts: int, minimum: int) -> list[int]:
    """``parts`` whole numbers >= ``minimum`` that add up to ``total``, drawn at random."""
    spare = total - parts * minimum
    cuts = sorted(rng.randint(0, spare) for _ in range(parts - 1))
    return [minimum + b - a for a, b in zip([0, *cuts], [*cuts, spare], strict=True)]


def _cycle(items: Sequence[Visual]) -> Iterator[Visual]:
    while True:
        yield from items


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return min(high, max(low, int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))))


def _shot(rng: random.Random, visual: Visual, duration: int) -> Shot:
    start = 0.0 if visual.kind == "photo" else round(rng.uniform(0, max(0.0, visual.length - 1)), 2)
    return Shot(visual, duration, start=start, motion=rng.choice(sorted(MOTIONS)))


def _shots(rng: random.Random, visuals: Sequence[Visual], total: int, lengths: tuple[int, int]) -> tuple[Shot, ...]:
    """Shots of ``lengths`` s filling ``total`` s, cycling through ``visuals`` (footage shots no longer than it)."""
    low, high = lengths
    shots: list[Shot] = []
    left, turn = total, rng.randrange(len(visuals))
    while left > 0:
        visual = visuals[turn % len(visuals)]
        turn += 1
        length = rng.randint(low, high)
        if visual.kind == "footage":
            length = min(length, max(low, int(visual.length)))
        if left - length < low:
            length = left
        shots.append(_shot(rng, visual, length))
        left -= length
    return tuple(shots)


def _take_sound(rng: random.Random, pool: list[Sound], seconds: tuple[int, int]) -> tuple[Sound, int, int]:
    """Pop sounds off ``pool`` for one catalog video: (sound, start, duration within ``seconds``).

    A sound long enough alone gives a duration of at most its length; shorter ones are joined in turn.
    """
    low, high = seconds
    target = rng.randint(low, high)
    parts = [pool.pop()]
    if parts[0].length >= low:
        target = min(target, int(parts[0].length))
    while sum(p.length for p in parts) < target and pool:
        parts.append(pool.pop())
    sound = join_sounds(parts)
    duration = min(target, int(sound.length))
    if duration < low:
        raise NotEnoughMedia(f"not enough music/speech left for a {low} s catalog video")
    return sound, rng.randint(0, int(sound.length) - duration), duration


def _hold_out(rng: random.Random, items: Sequence, share: float, minimum: int = 1) -> tuple[list, list]:
    """Shuffle ``items`` and split them into (kept out of the catalog, available to it)."""
    items = list(items)
    rng.shuffle(items)
    n_out = min(len(items), max(minimum, math.ceil(share * len(items))))
    return items[:n_out], items[n_out:]


# --- catalog ------------------------------------------------------------------------------------------------

@dataclass
class _Pools:
    """Sources not used by the catalog: filler visuals, filler sounds and voices; and the shared content."""

    visuals: list[Visual]
    sounds: list[Sound]
    voices: list[Sound]
    intro: Scene | None = None
    outro: Scene | None = None
    logo: ChannelLogo | None = None


def _shared_wanted(preset: Preset) -> tuple[bool, bool, bool]:
    """Whether the preset asks for an intro, an outro, a channel logo."""
    return (preset.intro_seconds > 0 and preset.intro_share > 0, preset.outro_seconds > 0 and preset.outro_share > 0,
            preset.logo_share > 0)


def _plan_shared(rng: random.Random, visuals: list[Visual], music: list[Sound], speech: list[Sound],
                 preset: Preset) -> tuple[Scene | None, Scene | None, ChannelLogo | None]:
    """The intro, outro and channel logo the preset asks for, from sources popped off the catalog's pools.

    Intro and outro are one shot of a visual of their own over an excerpt of a music (else speech) file of
    their own; the logo is a photo (else a footage frame) of its own.
    """
    want_intro, want_outro, want_logo = _shared_wanted(preset)

    def scene(seconds: int) -> Scene:
        pool = music or speech
        if not pool:
            raise NotEnoughMedia(f"{preset.name}: no music or speech left for a shared intro or outro")
        visual = visuals.pop()
        sound, start, duration = _take_sound(rng, pool, (seconds, seconds))
        return Scene((_shot(rng, visual, duration),), Excerpt(sound, start, duration))

    intro = scene(preset.intro_seconds) if want_intro else None
    outro = scene(preset.outro_seconds) if want_outro else None
    logo = None
    if want_logo:
        photos = [i for i, v in enumerate(visuals) if v.kind == "photo"]
        visual = visuals.pop(photos[-1] if photos else -1)
        at = 0.0 if visual.kind == "photo" else round(rng.uniform(0, max(0.0, visual.length - 1)), 2)
        logo = ChannelLogo(visual, at, rng.choice(sorted(CORNERS)))
    return intro, outro, logo


def _chosen(rng: random.Random, n: int, share: float) -> set[int]:
    return set(rng.sample(range(n), min(n, round(share * n))))


def _add_shared(rng: random.Random, catalog: list[CatalogVideo], intro: Scene | None, outro: Scene | None,
                logo: ChannelLogo | None, preset: Preset) -> list[CatalogVideo]:
    """``catalog`` with the intro, outro and logo given to their shares of the videos (drawn independently)."""
    n = len(catalog)
    with_intro = _chosen(rng, n, preset.intro_share) if intro is not None else set()
    with_outro = _chosen(rng, n, preset.outro_share) if outro is not None else set()
    with_logo = _chosen(rng, n, preset.logo_share) if logo is not None else set()
    return [replace(v, intro=intro if i in with_intro else None, outro=outro if i in with_outro else None,
                    logo=logo if i in with_logo else None) for i, v in enumerate(catalog)]


def _plan_catalog(rng: random.Random, sources: Sources, preset: Preset) -> tuple[list[CatalogVideo], _Pools]:
    n = preset.n_catalog
    n_shared = sum(_shared_wanted(preset))  # one visual each for the intro, outro and logo
    spare_visuals, visuals = _hold_out(rng, sources.visuals, preset.filler_share, minimum=2)
    if len(visuals) < n + n_shared:
        shared = f" and {n_shared} for shared content" if n_shared else ""
        raise NotEnoughMedia(
            f"{preset.name}: {n} catalog videos need {n} visual sources of their own{shared} plus "
            f"{len(spare_visuals)} kept for fillers, but only {len(sources.visuals)} were found; add media folders "
            "(e.g. scripts/fetch_extra_media.sh)")
    spare_music, music = _hold_out(rng, sources.music, preset.filler_share)
    spare_speech, speech = _hold_out(rng, sources.speech, preset.filler_share)
    intro, outro, logo = _plan_shared(rng, visuals, music, speech, preset) if n_shared else (None, None, None)

    low, high = preset.visuals_per_video
    owned: list[list[Visual]] = [[v] for v in visuals[:n]]
    rest = visuals[n:]
    wanted = [rng.randint(low, high) for _ in range(n)]
    for i in (i for _ in range(high) for i in range(n)):
        if rest and len(owned[i]) < wanted[i]:
            owned[i].append(rest.pop())
    spare_visuals += rest

    n_speech = round(preset.speech_share * n)
    speakers = set(rng.sample(range(n), n_speech))
    videos = []
    for i in range(n):
        primary, other = (speech, music) if i in speakers else (music, speech)
        pool = primary if primary else other
        if not pool:
            raise NotEnoughMedia(f"{preset.name}: not enough music/speech for {n} catalog videos of their own")
        sound, start, duration = _take_sound(rng, pool, preset.catalog_seconds)
        shots = _shots(rng, owned[i], duration, preset.shot_seconds)
        videos.append(Scene(shots, Excerpt(sound, start, duration)))
    order = list(range(n))
    rng.shuffle(order)
    refs = set(order[:preset.n_refs])
    catalog = [CatalogVideo(f"r_{i + 1:03d}", REFERENCE if i in refs else DISTRACTOR, scene)
               for i, scene in enumerate(videos)]
    if n_shared:
        catalog = _add_shared(rng, catalog, intro, outro, logo, preset)

    spare_speech += speech  # what the catalog did not take
    spare_music += music
    voice_seconds = preset.borrow_seconds[1] + preset.filler_seconds[1]
    voices = group_sounds(spare_speech, voice_seconds)
    return catalog, _Pools(spare_visuals, spare_music + voices, voices, intro, outro, logo)


# --- queries ------------------------------------------------------------------------------------------------

class _QueryMedia:
    """Filler scenes, covers and voices from the sources kept out of the catalog."""

    def __init__(self, rng: random.Random, pools: _Pools, preset: Preset):
        self.rng, self.preset = rng, preset
        visuals = list(pools.visuals)
        rng.shuffle(visuals)
        self.visuals = _cycle(visuals)
        self.sounds = SoundCursor(pools.sounds)
        self.voices = SoundCursor(pools.voices) if pools.voices else None

    def scene(self, seconds: int) -> Scene:
        shot = _shot(self.rng, next(self.visuals), seconds)
        return Scene((shot,), self.sounds.take(seconds))

    def voice(self, seconds: int) -> Excerpt:
        if self.voices is None:
            raise NotEnoughMedia("speech_over needs speech kept out of the catalog; none is left")
        return self.voices.take(seconds)


def _min_seconds(edits: Sequence[Edit], preset: Preset) -> int:
    return max([preset.borrow_seconds[0]] + [EDITS[e.name].min_seconds for e in edits])


def _segment_lengths(rng: random.Random, edits: Sequence[Edit], room: int,
                     preset: Preset) -> tuple[int, int, tuple[Edit, ...]]:
    """(reference seconds, query seconds, edits with any tempo snapped) of a segment fitting in ``room`` s."""
    floor = min(_min_seconds(edits, preset), room)
    ref_seconds = _log_uniform(rng, floor, max(floor, min(preset.borrow_seconds[1], room)))
    factor = tempo_of(edits)
    if factor == 1:
        return ref_seconds, ref_seconds, tuple(edits)
    limits = ranges_of("speed", preset.edit_ranges.get("speed"))["change"]
    while (query_seconds := snap_tempo(ref_seconds, factor, limits)) is None:
        if ref_seconds >= room:
            raise NotEnoughMedia(f"no reference has room for a speed change of {factor}")
        ref_seconds += 1
    exact = round(ref_seconds / query_seconds, 6)
    snapped = tuple(replace(e, params=tuple((k, exact if k == "factor" else v) for k, v in e.params))
                    if EDITS[e.name].tempo is not None else e for e in edits)
    return ref_seconds, query_seconds, snapped


def _gaps(duration: int, taken: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of ``[0, duration)`` that none of ``taken`` covers."""
    gaps, position = [], 0
    for start, end in sorted(taken):
        if start > position:
            gaps.append((position, start))
        position = max(position, end)
    return gaps + ([(position, duration)] if position < duration else [])


def _room(ref: CatalogVideo, taken: Sequence[tuple[int, int]]) -> int:
    return max((b - a for a, b in _gaps(ref.duration, taken)), default=0)


def _ref_start(rng: random.Random, ref: CatalogVideo, seconds: int, taken: Sequence[tuple[int, int]]) -> int:
    """A start, uniform over the places in ``ref`` where ``seconds`` fit without overlapping ``taken``."""
    slots = [(a, b - seconds) for a, b in _gaps(ref.duration, taken) if b - a >= seconds]
    low, high = rng.choices(slots, [high - low + 1 for low, high in slots])[0]
    return rng.randint(low, high)


def _plan_borrows(rng: random.Random, refs: Sequence[CatalogVideo], hands: Sequence[Sequence[str]],
                  media: _QueryMedia, preset: Preset, spare: Sequence[CatalogVideo]) -> list[Borrow]:
    """Borrowed segments of one query, one per hand of edit kinds, each of ``refs`` copied at least once.

    Segments from one reference never overlap in it nor its intro or outro; a segment that no longer fits its
    reference goes to another one of ``refs``, else of ``spare``.
    """
    owners = list(refs) + [rng.choice(refs) for _ in range(len(hands) - len(refs))]
    rng.shuffle(owners)
    borrows: list[Borrow] = []
    taken: dict[str, list[tuple[int, int]]] = {}  # spans used per reference, its intro and outro from the start

    def used(r: CatalogVideo) -> list[tuple[int, int]]:
        return taken.get(r.video_id, list(r.reserved))

    for ref, hand in zip(owners, hands, strict=False):  # more references than hands: the first ones
        edits = in_order([make_edit(name, rng, preset.edit_ranges.get(name)) for name in hand])
        needed = _min_seconds(edits, preset)
        if _room(ref, used(ref)) < needed:
            roomy = [r for r in (*refs, *spare) if _room(r, used(r)) >= needed]
            ref = roomy[0] if roomy else ref
        spans = taken.setdefault(ref.video_id, list(ref.reserved))
        ref_seconds, query_seconds, edits = _segment_lengths(rng, edits, _room(ref, spans), preset)
        start = _ref_start(rng, ref, ref_seconds, spans)
        spans.append((start, start + ref_seconds))
        needs = needs_of(edits)
        borrows.append(Borrow(ref.video_id, start, ref_seconds, query_seconds, edits,
                              cover=media.scene(query_seconds) if "cover" in needs else None,
                              voice=media.voice(query_seconds) if "voice" in needs else None))
    return borrows


class _RefDeck:
    """Deals references evenly: every one is copied once before any is copied again."""

    def __init__(self, rng: random.Random, refs: Sequence[CatalogVideo]):
        self.rng, self.refs, self.deck = rng, list(refs), []

    def deal(self, count: int) -> list[CatalogVideo]:
        chosen: list[CatalogVideo] = []
        while len(chosen) < min(count, len(self.refs)):
            if not self.deck:
                self.deck = self.rng.sample(self.refs, len(self.refs))
            pick = next((r for r in self.deck if r not in chosen), None)
            if pick is None:  # only already chosen ones left in this round: start the next round
                self.deck = []
                continue
            self.deck.remove(pick)
            chosen.append(pick)
        return chosen


def _shared_negatives(rng: random.Random, media: _QueryMedia, pools: _Pools, preset: Preset) -> list[QueryPlan]:
    """``n_negative_shared`` negative queries (ids left blank) carrying the shared content between fillers.

    They take turns over the variants the catalog allows (intro, outro, both, the logo over fillers, intro
    and logo); an intro or outro is lightly edited (a re-encode, a volume change) half of the time.
    """
    variants = [parts for parts, ok in (((INTRO,), pools.intro), ((OUTRO,), pools.outro),
                                        ((INTRO, OUTRO), pools.intro and pools.outro), ((LOGO,), pools.logo),
                                        ((INTRO, LOGO), pools.intro and pools.logo)) if ok]
    if not variants:
        raise ValueError(f"{preset.name}: n_negative_shared needs shared content (intro_seconds and intro_share, "
                         "outro_seconds and outro_share, or logo_share)")
    variants = rng.sample(variants, len(variants))
    f_low, f_high = preset.filler_seconds
    queries = []
    for number in range(preset.n_negative_shared):
        parts = variants[number % len(variants)]
        clips = []
        for part, scene in ((INTRO, pools.intro), (OUTRO, pools.outro)):
            if part in parts and scene is not None:
                hand = rng.choice(LIGHT_EDITS) if rng.random() < 0.5 else ()
                clips.append(SharedClip(part, scene, in_order([make_edit(k, rng, preset.edit_ranges.get(k))
                                                               for k in hand])))
        total = rng.randint(*preset.negative_seconds)
        if clips:  # filler, clip, filler(, clip, filler)
            fill = max(total - sum(c.length for c in clips), (len(clips) + 1) * f_low)
            fillers = [media.scene(t) for t in _split(rng, fill, len(clips) + 1, f_low)]
            pieces: list[Scene | SharedClip] = [fillers[0]]
            for clip, filler in zip(clips, fillers[1:], strict=True):
                pieces += [clip, filler]
        else:  # fillers only, as a plain negative query
            pieces = [media.scene(t) for t in _split(rng, total, max(1, min(4, total // max(f_high, 1))), f_low)]
        queries.append(QueryPlan("", NEGATIVE, tuple(pieces), logo=pools.logo if LOGO in parts else None))
    return queries


def _shuffle_in(rng: random.Random, queries: list[QueryPlan], extra: list[QueryPlan]) -> list[QueryPlan]:
    """``extra`` queries placed at random among ``queries`` (kept in order), all numbered again in turn."""
    total = len(queries) + len(extra)
    slots = set(rng.sample(range(total), len(extra)))
    mine, theirs = iter(extra), iter(queries)
    merged = [next(mine) if i in slots else next(theirs) for i in range(total)]
    return [replace(q, query_id=f"q_{i + 1:03d}") for i, q in enumerate(merged)]


def _plan_queries(rng: random.Random, catalog: Sequence[CatalogVideo], pools: _Pools,
                  preset: Preset) -> list[QueryPlan]:
    refs = [v for v in catalog if v.kind == REFERENCE]
    if not refs and preset.n_pirated:
        raise NotEnoughMedia("pirated queries need at least one reference")
    media = _QueryMedia(rng, pools, preset)
    n_queries = preset.n_pirated + preset.n_negative
    negatives = set(rng.sample(range(n_queries), preset.n_negative))
    counts = [rng.randint(*preset.borrows_per_query) for _ in range(preset.n_pirated)]
    kinds = preset.edit_kinds or tuple(EDITS)
    combos = [tuple(c) for c in preset.combos]
    if not pools.voices:  # no speech kept out of the catalog: no speech_over
        kinds = tuple(k for k in kinds if "voice" not in EDITS[k].needs)
        combos = [c for c in combos if all("voice" not in EDITS[k].needs for k in c if k in EDITS)]
    hands = iter(deal_kinds(rng, sum(counts), kinds, preset.edits_per_segment, preset.min_per_kind,
                            preset.hard_share, combos, preset.min_per_combo))
    ref_deck = _RefDeck(rng, refs)
    f_low, f_high = preset.filler_seconds
    queries, count_iter = [], iter(counts)
    for number in range(1, n_queries + 1):
        if number - 1 in negatives:
            total = rng.randint(*preset.negative_seconds)
            parts = max(1, min(4, total // max(f_high, 1)))
            pieces: list[Scene | Borrow] = [media.scene(s) for s in _split(rng, total, parts, f_low)]
            queries.append(QueryPlan(f"q_{number:03d}", NEGATIVE, tuple(pieces)))
            continue
        n_borrows = next(count_iter)
        query_refs = ref_deck.deal(min(n_borrows, rng.randint(*preset.refs_per_query)))
        borrows = _plan_borrows(rng, query_refs, [next(hands) for _ in range(n_borrows)], media, preset,
                                spare=rng.sample(refs, len(refs)))
        pieces = [media.scene(rng.randint(f_low, f_high))]
        for borrow in borrows:
            pieces += [borrow, media.scene(rng.randint(f_low, f_high))]
        queries.append(QueryPlan(f"q_{number:03d}", PIRATED, tuple(pieces)))
    if preset.n_negative_shared > 0:
        queries = _shuffle_in(rng, queries, _shared_negatives(rng, media, pools, preset))
    return queries


def plan_benchmark(media_dirs: Path | Sequence[Path], preset: Preset, seed: int = 0) -> BenchPlan:
    """Decide every catalog video, query, borrowed segment and edit (no media is written)."""
    check_ranges(preset.edit_ranges)
    rng = random.Random(seed)
    sources = discover_sources(media_dirs)
    catalog, pools = _plan_catalog(rng, sources, preset)
    queries = _plan_queries(rng, catalog, pools, preset)
    return BenchPlan(preset.name, seed, tuple(catalog), tuple(queries), preset.canvas)

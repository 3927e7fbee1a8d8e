"""Deal edit kinds over borrowed segments: fixed combinations first, every kind at least N times, a share of hard
ones, no conflicts."""

from __future__ import annotations

import random
from collections.abc import Sequence

from avm.bench.edits import EDITS, compatible

Range = tuple[int, int]


def _slot_counts(rng: random.Random, n_segments: int, per_segment: Range, needed: int) -> list[int]:
    low, high = per_segment
    counts = [rng.randint(low, high) for _ in range(n_segments)]
    while sum(counts) < needed and (open_ := [i for i, c in enumerate(counts) if c < high]):
        counts[rng.choice(open_)] += 1
    return counts


def _fits(name: str, hand: Sequence[str]) -> bool:
    return all(compatible(name, other) for other in hand)


def check_combos(combos: Sequence[Sequence[str]], kinds: Sequence[str]) -> None:
    """Raise ``ValueError`` naming a combination with a kind not in ``kinds`` or two kinds not compatible."""
    for combo in combos:
        unknown = [k for k in combo if k not in kinds]
        if unknown or not combo:
            raise ValueError(f"edit combination {list(combo)}: {unknown or 'empty'} not among the kinds dealt "
                             f"({list(kinds)})")
        clashes = [(a, b) for i, a in enumerate(combo) for b in combo[i + 1:] if not compatible(a, b)]
        if clashes:
            raise ValueError(f"edit combination {list(combo)}: {clashes} cannot go on one segment")


def _deal_combos(rng: random.Random, counts: list[int], hands: list[list[str]], combos: Sequence[Sequence[str]],
                 min_per_combo: int, per_segment: Range, needed: int) -> None:
    """Give each combination whole to ``min_per_combo`` segments of its own (as many as there are); those
    segments take no other card, so the others' slots are raised again until ``needed`` cards fit."""
    wanted = [list(c) for c in combos for _ in range(min_per_combo)][:len(hands)]
    fixed = rng.sample(range(len(hands)), len(wanted))
    for i, combo in zip(fixed, wanted, strict=True):
        hands[i], counts[i] = combo, len(combo)
    others = sorted(set(range(len(hands))) - set(fixed))
    while sum(counts[i] for i in others) < needed and (open_ := [i for i in others if counts[i] < per_segment[1]]):
        counts[rng.choice(open_)] += 1


def deal_kinds(rng: random.Random, n_segments: int, kinds: Sequence[str], per_segment: Range = (1, 3),
               min_per_kind: int = 1, hard_share: float = 0.3, combos: Sequence[Sequence[str]] = (),
               min_per_combo: int = 1) -> list[list[str]]:
    """Edit kind names for each of ``n_segments`` segments, in registry order.

    Each segment gets ``per_segment`` slots (raised, up to the maximum, until every kind fits
    ``min_per_kind`` times). Each of ``combos`` (lists of compatible kinds) is first dealt whole to
    ``min_per_combo`` segments, which get no other kind. The required cards are dealt next, most constrained
    first, each to the segment with the most free slots that can take it; the remaining slots draw a hard kind
    with probability ``hard_share``, else an easy one. A card no segment can take is dropped; a segment left
    with fewer than ``per_segment``'s minimum (at least one) gets compatible easy kinds up to it.
    """
    kinds = [k for k in EDITS if k in set(kinds)]
    check_combos(combos, kinds)
    counts = _slot_counts(rng, n_segments, per_segment, len(kinds) * min_per_kind)
    hands: list[list[str]] = [[] for _ in range(n_segments)]
    if combos and min_per_combo > 0:
        _deal_combos(rng, counts, hands, combos, min_per_combo, per_segment, len(kinds) * min_per_kind)
    hard = [k for k in kinds if EDITS[k].hard]
    easy = [k for k in kinds if not EDITS[k].hard] or hard

    def free(i: int) -> int:
        return counts[i] - len(hands[i])

    def place(name: str) -> None:
        open_ = [i for i in range(n_segments) if free(i) > 0 and _fits(name, hands[i])]
        if open_:
            most = max(free(i) for i in open_)
            hands[rng.choice([i for i in open_ if free(i) == most])].append(name)

    def constraint(name: str) -> int:  # how many other kinds it cannot share a segment with
        return sum(not compatible(name, other) for other in kinds if other != name)

    deck = [k for k in kinds for _ in range(min_per_kind)]
    rng.shuffle(deck)
    for name in sorted(deck, key=constraint, reverse=True):  # stable: ties keep the shuffled order
        place(name)
    for _ in range(sum(counts) - sum(map(len, hands))):
        pool = hard if hard and rng.random() < hard_share else easy
        place(rng.choice(pool))
    for hand in hands:  # below the minimum (a card no segment could take was dropped): easy kinds that fit
        while len(hand) < max(1, per_segment[0]) and (fitting := [k for k in easy if _fits(k, hand)]):
            hand.append(rng.choice(fitting))
    order = list(EDITS)
    return [sorted(hand, key=order.index) for hand in hands]

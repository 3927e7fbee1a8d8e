"""Deal edit kinds over borrowed segments: every kind at least N times, a share of hard ones, no conflicts."""

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


def deal_kinds(rng: random.Random, n_segments: int, kinds: Sequence[str], per_segment: Range = (1, 3),
               min_per_kind: int = 1, hard_share: float = 0.3) -> list[list[str]]:
    """Edit kind names for each of ``n_segments`` segments, in registry order.

    Each segment gets ``per_segment`` slots (raised, up to the maximum, until every kind fits
    ``min_per_kind`` times). The required cards are dealt first, most constrained first, each to the segment
    with the most free slots that can take it; the remaining slots draw a hard kind with probability
    ``hard_share``, else an easy one. A card no segment can take is dropped; a segment left empty gets one
    compatible kind.
    """
    kinds = [k for k in EDITS if k in set(kinds)]
    counts = _slot_counts(rng, n_segments, per_segment, len(kinds) * min_per_kind)
    hands: list[list[str]] = [[] for _ in range(n_segments)]
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
    for hand in hands:
        if not hand:
            hand.append(rng.choice([k for k in easy if _fits(k, hand)]))
    order = list(EDITS)
    return [sorted(hand, key=order.index) for hand in hands]

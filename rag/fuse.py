"""Fuse ranked lists from several retrievers into one: reciprocal-rank fusion or a weighted sum of scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

Ranked = list[tuple[int, float]]


def rrf(rankings: Sequence[Ranked], k: int = 60, weights: Sequence[float] | None = None) -> Ranked:
    """Reciprocal-rank fusion (Cormack et al., 2009): each list adds weight / (k + rank) to its rows."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (row, _) in enumerate(ranking, 1):
            fused[row] += weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def min_max(ranking: Ranked) -> dict[int, float]:
    """Scales scores to 0..1 within one list (all equal scores become 1)."""
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    low, high = min(scores), max(scores)
    return {row: (s - low) / (high - low) if high > low else 1.0 for row, s in ranking}


def weighted(rankings: Sequence[Ranked], weights: Sequence[float]) -> Ranked:
    """Weighted sum of min-max normalized scores; a row missing from a list scores 0 there."""
    fused: dict[int, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights, strict=True):
        for row, score in min_max(ranking).items():
            fused[row] += weight * score
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def rerank(head: Ranked, judged: Sequence[float], weight: float) -> Ranked:
    """Reorders the judged head of a ranking: weight * judge + (1 - weight) * first stage, best first.

    Both scores are min-max scaled over the head first: P(yes) of a small judge spans a narrow band.
    """
    first = min_max(head)
    second = min_max([(row, p) for (row, _), p in zip(head, judged, strict=True)])
    combined = [(row, weight * second[row] + (1 - weight) * first[row]) for row, _ in head]
    return sorted(combined, key=lambda item: -item[1])

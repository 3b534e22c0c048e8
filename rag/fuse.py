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

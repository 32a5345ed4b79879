"""Top-K ranking metrics for full ranking with binary relevance."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["KS", "METRICS", "coverage", "hit_rate", "mean_metrics", "mrr", "ndcg", "recall", "top_k"]

KS = (10, 20, 50)
METRICS = ("recall", "ndcg", "hr", "mrr")


def recall(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant items found in the top k."""
    if not relevant:
        return 0.0
    return sum(1 for i in ranked[:k] if i in relevant) / len(relevant)


def ndcg(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """DCG of the top k (gain 1, discount log2(rank + 1)) over the ideal DCG of min(|relevant|, k) hits."""
    dcg = sum(1.0 / math.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def hit_rate(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 if any relevant item is in the top k, else 0."""
    return 1.0 if any(i in relevant for i in ranked[:k]) else 0.0


def mrr(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Reciprocal rank of the first relevant item within the top k (0 when none)."""
    for r, i in enumerate(ranked[:k]):
        if i in relevant:
            return 1.0 / (r + 1)
    return 0.0


_FUNCS = {"recall": recall, "ndcg": ndcg, "hr": hit_rate, "mrr": mrr}


def mean_metrics(
    rankings: Mapping[str, Sequence[str]], truth: Mapping[str, set[str]], ks: Iterable[int] = KS
) -> dict[str, float]:
    """Averages every metric at every k over the users of ``truth`` (a user with no ranking scores 0)."""
    ks = tuple(ks)
    out: dict[str, float] = {}
    users = sorted(truth)
    for name in METRICS:
        for k in ks:
            vals = [_FUNCS[name](rankings.get(u, ()), truth[u], k) for u in users]
            out[f"{name}@{k}"] = sum(vals) / len(vals) if vals else 0.0
    return out


def coverage(rankings: Iterable[Sequence[str]], n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one top-k list."""
    shown: set[str] = set()
    for ranked in rankings:
        shown.update(ranked[:k])
    return len(shown) / n_items if n_items else 0.0


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first; ties go to the lower index (deterministic)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.arange(scores.shape[0])[:, None]
    # lexsort's last key is primary: score descending, then column index ascending.
    order = np.lexsort((part, -scores[rows, part]), axis=1)
    return part[rows, order]

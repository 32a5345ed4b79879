"""What ``bench conversation`` measures beside the hit: whether a linked item is the person's own, the popularity
baseline, and NDCG@10 as ``evaluate`` computes it (bench may not import eval, so the formula is restated here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from scenebridge.agent.linking import Linker
from scenebridge.agent.summary import Mention
from scenebridge.bench.person import Catalogue
from scenebridge.data.preprocess import normalize_text
from scenebridge.data.split import CrossSceneSplit
from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.rerank.statement import StatementLinker

__all__ = ["NEAR_DUPLICATE", "OwnItems", "Reference", "agent_statement_linker", "ndcg_at", "popular",
           "reference_ndcg"]  # fmt: skip

NEAR_DUPLICATE = 0.6  # title-token Jaccard at which a linked item counts as the same product as one the person owns


class Reference(Protocol):
    """A method of the evaluation harness (``fit`` on the visible data, ``score`` every target item per user)."""

    name: str

    def fit(self, ctx: Context) -> None: ...

    def score(self, users: Sequence[str]) -> np.ndarray: ...


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """NDCG@k with binary gains, as ``evaluate`` computes it (bench may not import eval, so it is restated here)."""
    dcg = sum(1.0 / np.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant)
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(len(relevant), k)))
    return float(dcg / ideal) if ideal else 0.0


class OwnItems:
    """A person's visible source items, and whether a linked item is one of them or a near-duplicate of one."""

    def __init__(self, history: Sequence[str], catalogue: Catalogue) -> None:
        self._ids = set(history)
        self._cat = catalogue
        self._tokens = [self._of(i) for i in self._ids]

    def _of(self, item: str) -> set[str]:
        return set(normalize_text(self._cat.words(item).title)) if item in self._cat else set()

    def holds(self, item: str) -> bool:
        """The item is the person's own or a near-duplicate of one of theirs."""
        if item in self._ids:
            return True
        tokens = self._of(item)
        return any(_jaccard(tokens, own) >= NEAR_DUPLICATE for own in self._tokens)

    def same(self, a: str, b: str) -> bool:
        """Two items are the same product (one id, or near-duplicate titles)."""
        return a == b or _jaccard(self._of(a), self._of(b)) >= NEAR_DUPLICATE


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def popular(split: CrossSceneSplit, k: int) -> list[str]:
    """The target scene's ``k`` most popular items in the training interactions (ties by id)."""
    rows = split.train[split.train["scene"] == split.target]
    counts = rows.groupby("item_id")["user_id"].nunique()
    return [str(i) for i, _ in sorted(counts.items(), key=lambda x: (-x[1], str(x[0])))[:k]]


def agent_statement_linker(linker: Linker, source: str, target: str) -> StatementLinker:
    """The agent's linker as the ``fusion-statement-linked`` row's: each part of a derived statement is a mention of
    something bought in ``source``, linked as a turn links it."""

    def link(parts: Sequence[str]) -> list[tuple[str, float]]:
        mentions = [Mention(text=p[:120], action="bought") for p in parts if p.strip()]
        found = linker.link(mentions, target=target, source_scenes=[source])
        return [(x.item.item_id, x.confidence) for x in found if x.item is not None]

    return link


def reference_ndcg(
    refs: Sequence[Reference], split: CrossSceneSplit, users: Sequence[str], truth: dict[str, set[str]], k: int,
    notes: list[str],
) -> dict[str, float]:  # fmt: skip
    """Each reference that fits this split, and its mean NDCG@``k`` over ``users`` (in the order given)."""
    out: dict[str, float] = {}
    if not refs:
        return out
    ctx = Context.build(split, seed=0)
    for ref in refs:
        try:
            ref.fit(ctx)
        except UsageError as exc:
            notes.append(f"reference {ref.name} skipped: {exc}")
            continue
        scores = ref.score(users)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        ranked = [[split.target_items[j] for j in row] for row in top]
        out[ref.name] = float(np.mean([ndcg_at(r, truth[u], k) for r, u in zip(ranked, users, strict=True)]))
    return out

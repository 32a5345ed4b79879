"""Leakage-free interest statements for evaluation: what a user might say, built from their own source history."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import numpy as np

from scenebridge.rerank.features import UserQuery
from scenebridge.store.embed import cached_embedder

__all__ = ["STATEMENT_ITEMS", "STATEMENT_WORDS", "StatementLinker", "derive_parts", "derive_statement",
           "linked_query", "statement_vectors"]  # fmt: skip

STATEMENT_ITEMS = 3
STATEMENT_WORDS = 5


class StatementLinker(Protocol):
    """Links the things a derived statement names to catalogue items, as the agent links what a person says.

    Called with the statement's parts (most recent first); answers ``(item_id, confidence)`` for each part that
    was linked (the agent's linker: :mod:`scenebridge.agent.linking`, given by a layer above this one).
    """

    def __call__(self, parts: Sequence[str]) -> list[tuple[str, float]]: ...


def derive_parts(history: Sequence[str], titles: Mapping[str, str]) -> list[str]:
    """The things a derived statement names, most recent first: the opening words of each of the last few titles."""
    parts = []
    for item in history[-STATEMENT_ITEMS:]:
        words = str(titles.get(item, "")).split()[:STATEMENT_WORDS]
        if words:
            parts.append(" ".join(words))
    return parts[::-1]


def derive_statement(history: Sequence[str], titles: Mapping[str, str]) -> str:
    """A short interest summary from the last few source-scene items: the opening words of each title.

    Only the user's visible source history is read (never a target-scene item), so "statement" mode is scored
    without leakage; the text stands in for what the LLM would extract from "I bought X, Y and Z".
    """
    return ", ".join(derive_parts(history, titles))


def statement_vectors(histories: Sequence[Sequence[str]], titles: Mapping[str, str], embedder: str) -> np.ndarray:
    """Embedded derived statements, one row per history ("anything" for an empty one), through the disk cache."""

    texts = [derive_statement(h, titles) or "anything" for h in histories]
    return cached_embedder(embedder).embed(texts).astype(np.float32)


def linked_query(
    links: Sequence[tuple[str, float]], item_index: Mapping[str, int], targets: Collection[int], vector: np.ndarray
) -> UserQuery:
    """A derived statement with what its parts were linked to: the linked items are a history weighted by the links'
    confidence beside the statement's vector, as the agent gives linked mentions to the reranker on a first turn.

    The one path from links to a query for both training (``rerank/train.py``) and the ``fusion-statement-linked``
    row (``rerank/evaluate.py``), so the two see the same lists.

    Args:
        links: ``(item_id, confidence)`` per linked part (a :class:`StatementLinker`'s answer).
        item_index: catalogue column of each item id (items the model never saw are dropped).
        targets: the target scene's columns: a linked target item is no history (cold start).
        vector: the embedded statement.
    """
    kept: dict[int, float] = {}  # an item linked twice counts with its larger confidence
    for item_id, conf in links:
        col = item_index.get(item_id)
        if col is not None and col not in targets and conf > 0:
            kept[col] = max(kept.get(col, 0.0), float(conf))
    weights = np.array(list(kept.values()), dtype=np.float32)
    return UserQuery(history=np.array(list(kept), dtype=np.int64), interest=vector,
                     weights=None if bool((weights == 1.0).all()) else weights)  # fmt: skip

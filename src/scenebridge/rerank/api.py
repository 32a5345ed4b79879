"""What every reranker takes and returns: the contract between the agent's turn and a trained model.

A turn hands the reranker a :class:`RerankQuery` (who the user is across scenes, what they said, where they are now)
and retrieved :class:`Candidate` items (with their content vectors, so an item the model never saw in training is
still scorable by its text). It gets back :class:`Scored` items, best first, each with the :class:`Evidence` that
drove its score — structured data the explanation step may quote and nothing else.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field

from scenebridge.errors import UsageError

__all__ = [
    "Candidate",
    "Evidence",
    "EvidenceKind",
    "RerankQuery",
    "Reranker",
    "Scored",
    "check_history_weights",
]

EvidenceKind = Literal["co-occurrence", "interest", "history-content", "popularity", "collaborative", "scene"]


class Evidence(BaseModel):
    """One reason behind a score, as data: which feature family, which history item, how many people, which interest.

    Rerankers give only data; the agent words it (``prompts/wording.yaml``, rendered by
    :mod:`scenebridge.agent.wording`) and fills :attr:`text` then.

    Attributes:
        kind: which feature family produced it.
        text: the reason in English, rendered from the other fields by the agent's wording (empty until then).
        weight: this reason's share of the score (0..1 within one item, larger is stronger).
        item_id: the history item it refers to, for co-occurrence and history-content reasons.
        scene: the scene of that history item (for popularity: the scene it is popular in; the item's when None).
        interest: the stated interest it matches, for interest reasons.
        people: how many people chose both items (co-occurrence) or chose the item (popularity), when counted.
        measure: how the weight was found: ``similarity`` (content similarity shares, the content reranker) or
            ``occlusion`` (a trained model's score drop with the family switched off).
        anchor: the history item is the one the person asked for "more like" in this session.
    """

    kind: EvidenceKind
    text: str = ""
    weight: float = Field(ge=0.0, le=1.0)
    item_id: str | None = None
    scene: str | None = None
    interest: str | None = None
    people: int | None = Field(None, ge=0)
    measure: Literal["similarity", "occlusion"] = "similarity"
    anchor: bool = False


class Scored(BaseModel):
    """One reranked item."""

    item_id: str
    score: float
    evidence: list[Evidence] = Field(default_factory=list)


@dataclass
class Candidate:
    """A retrieved item as the reranker sees it.

    Attributes:
        item_id: catalogue id.
        scene: its scene.
        vector: its content embedding (same embedder as the reranker's), or None to use the model's own table.
        title: catalogue title.
        retrieval_score: similarity from the item store, if it came from there.
    """

    item_id: str
    scene: str
    vector: np.ndarray | None = None
    title: str = ""
    retrieval_score: float | None = None


@dataclass
class RerankQuery:
    """Who asks, and for what.

    Attributes:
        scene: the target scene to recommend in.
        history: the user's known item ids in other scenes, oldest first (empty for a brand-new user).
        interest_vector: embedding of the parsed interest summary's text (None when nothing was said).
        interests: the summary's topic names, strongest first (an interest reason names one).
        interest_vectors: optional embeddings of ``interests``, one row each, so a reranker can name the interest
            nearest to each item without an embedder of its own.
        exclude: item ids that must not be returned (already seen, rejected in this session).
        not_again: the part of ``exclude`` left out only because it was just shown (a follow-up wants other
            items), not because the person has it or did it.
        history_weights: how sure we are of each history item, 0..1, one per ``history`` entry (None: all 1.0) —
            e.g. items a person said they bought, linked to the catalogue with a confidence. A reranker weighs each
            history item's part in its signals by it; a weight of 0 is as if the item were not there.

    Raises:
        UsageError: when ``history_weights`` does not have one finite weight in 0..1 per history item.
    """

    scene: str
    history: list[str] = field(default_factory=list)
    interest_vector: np.ndarray | None = None
    interests: list[str] = field(default_factory=list)
    exclude: set[str] = field(default_factory=set)
    interest_vectors: np.ndarray | None = None
    history_weights: list[float] | None = None
    not_again: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        check_history_weights(self.history, self.history_weights)


def check_history_weights(history: Sequence[str], weights: Sequence[float] | None) -> None:
    """Raises :class:`UsageError` unless ``weights`` is None or one finite weight in 0..1 per history item."""
    if weights is None:
        return
    if len(weights) != len(history):
        msg = f"history_weights has {len(weights)} values for {len(history)} history items; give one per item"
        raise UsageError(msg)
    bad = [w for w in weights if not (isinstance(w, numbers.Real) and math.isfinite(w) and 0.0 <= w <= 1.0)]
    if bad:
        msg = f"history weights must be numbers from 0 to 1, got {bad[0]!r}"
        raise UsageError(msg)


@runtime_checkable
class Reranker(Protocol):
    """A model that orders candidates for one query and says why."""

    @property
    def embedder_id(self) -> str:
        """The embedder whose vectors this model expects (candidates and interest vectors must match it)."""
        ...

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        """Up to ``k`` behaviour-based candidate ids in ``query.scene`` (co-occurrence, popularity), best first."""
        ...

    def rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None) -> list[Scored]:
        """Scores and orders ``candidates`` (dropping ``query.exclude``), best first, with evidence."""
        ...

"""What a turn carries and returns: one record per item from the store to the answer, the trace every stage appends
to, and the result models (:class:`RecommendedItem`, :class:`TurnResult`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from scenebridge.agent.explain import Explanation
from scenebridge.agent.state import DialogueState, LinkedItem
from scenebridge.agent.summary import InterestSummary
from scenebridge.rerank.api import Candidate, Evidence

__all__ = ["STAGES", "ItemRecord", "RecommendedItem", "Trace", "TurnResult"]

STAGES = ("parse", "link", "embed", "retrieve", "rerank", "explain")


@dataclass
class ItemRecord:
    """One catalogue item on its way through a turn: filled by retrieve, scored by rerank, worded by explain.

    Attributes:
        item_id: catalogue id.
        scene: its scene.
        title: catalogue title.
        category: catalogue category.
        vector: its content embedding (None when the store did not give one).
        retrieval_score: similarity from the item store (None for behaviour candidates and given ids).
        score: the reranker's score (None until reranked).
        evidence: the reranker's reasons (their ``text`` filled by the explain stage).
        attrs: the item's optional catalogue attributes (``year``, ``price``, ``brand``, ``description``) when the
            catalogue has them.
    """

    item_id: str
    scene: str
    title: str
    category: str
    vector: np.ndarray | None = None
    retrieval_score: float | None = None
    score: float | None = None
    evidence: list[Evidence] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    def candidate(self) -> Candidate:
        """The item as a reranker sees it (the :class:`~scenebridge.rerank.api.Reranker` contract)."""
        return Candidate(self.item_id, self.scene, self.vector, self.title, self.retrieval_score)

    def card(self, rank: int) -> dict[str, Any]:
        """The ranked item as a turn's stream shows it before its explanation is there."""
        return {"rank": rank, "item_id": self.item_id, "title": self.title, "category": self.category,
                "scene": self.scene, "score": self.score, "attrs": dict(self.attrs),
                "evidence": [e.model_dump(mode="json") for e in self.evidence]}  # fmt: skip


@dataclass
class Trace:
    """What one turn did, appended to by each stage: time per stage, candidates filtered out and why, what changed
    in the session, and notes for the person."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    filtered: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Times a stage (repeated stages add up)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings_ms[name] = self.timings_ms.get(name, 0.0) + (time.perf_counter() - start) * 1000

    def finish(self) -> dict[str, float]:
        """The timings with the total, rounded to microseconds."""
        self.timings_ms["total"] = (time.perf_counter() - self.started) * 1000
        return {name: round(ms, 3) for name, ms in self.timings_ms.items()}


class RecommendedItem(BaseModel):
    """One recommended catalogue item."""

    rank: int
    item_id: str
    title: str
    category: str
    scene: str
    score: float
    evidence: list[Evidence] = Field(default_factory=list)
    explanation: str = ""
    explanation_source: Literal["template", "llm"] = "template"
    attrs: dict[str, Any] = Field(default_factory=dict, description="year, price, brand, description, if known")


class TurnResult(BaseModel):
    """Everything one turn produced.

    Attributes:
        session_id: the session (pass it back for follow-ups).
        user_id: the user, if given.
        statement: the cleaned statement.
        scene: the scene recommended in.
        summary: the interest summary in force after this turn (merged with the session's).
        parse_source: how the statement was read: ``llm``, ``llm-repair``, ``fallback`` (lexical parser) for a parsed
            statement; ``llm-delta``, ``lexical-delta`` or ``refinement`` (cues alone) for a follow-up.
        refinements: what this turn changed in the session, in words.
        items: the recommendations, best first.
        explanations: one grounded explanation per item (with rejected LLM wording, if any).
        filtered: candidates removed by exclusions, as item id -> the exclusion phrase.
        notes: things the user should know (an exclusion no catalogue word matched, a constraint with no data).
        linked: catalogue items that what the person said they did was linked to (their history for this turn).
        state: the session's dialogue state after this turn.
        timings_ms: per stage (parse, link, embed, retrieve, rerank, explain) and total.
        reply: the answer as text.
    """

    session_id: str
    user_id: str | None = None
    statement: str
    scene: str
    summary: InterestSummary
    parse_source: str
    refinements: list[str] = Field(default_factory=list)
    items: list[RecommendedItem] = Field(default_factory=list)
    explanations: list[Explanation] = Field(default_factory=list)
    filtered: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    linked: list[LinkedItem] = Field(default_factory=list)
    state: DialogueState | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    reply: str = ""

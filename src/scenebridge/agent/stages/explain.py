"""Stage 4: the evidence worded (the one renderer), one grounded explanation per item, the items as results and
the reply."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Literal

from scenebridge.agent.explain import ExplainInput, Explanation, explain_items
from scenebridge.agent.result import ItemRecord, RecommendedItem, TurnResult
from scenebridge.agent.wording import reply, with_text
from scenebridge.llm.protocol import LLM
from scenebridge.store.chroma import ItemStore

__all__ = ["explain", "recommended", "render_reply", "titles_for", "word_evidence"]


def titles_for(items: Sequence[ItemRecord], known: Sequence[ItemRecord], store: ItemStore) -> dict[str, str]:
    """Titles of the items the evidence refers to: from the turn's records, the rest (history items in other
    scenes) in one store lookup."""
    refs = {ev.item_id for r in items for ev in r.evidence if ev.item_id}
    titles = {r.item_id: r.title for r in known if r.item_id in refs}
    missing = sorted(refs - set(titles))
    if missing:
        titles |= {h.item_id: h.title for h in store.get_items(missing)[0]}
    return titles


def word_evidence(items: Sequence[ItemRecord], titles: dict[str, str], language: str = "en") -> None:
    """Fills each reason's ``text`` in the statement's language (results, tools and the page show it)."""
    for r in items:
        r.evidence = with_text(r.evidence, titles, r.scene, language)


def explain(
    items: Sequence[ItemRecord],
    others: Sequence[ItemRecord],
    titles: dict[str, str],
    interests: list[str],
    language: str,
    mode: Literal["template", "llm"],
    llm: LLM | None,
    lock: AbstractContextManager[object],
) -> list[Explanation]:
    """One grounded explanation per item (template, or checked LLM wording in ``llm`` mode).

    Args:
        items: the items to explain, in order.
        others: further candidates the wording must not name.
        titles: titles of the items the evidence refers to.
        interests: the stated interests.
        language: the statement's language.
        mode: ``template`` or ``llm``.
        llm: the wording backend (``llm`` mode only).
        lock: held while the LLM words (one in-process model is not thread-safe).
    """
    inputs = [
        ExplainInput(r.item_id, r.title, r.category, r.scene, list(r.evidence), interests,
                     {i: titles[i] for i in {ev.item_id for ev in r.evidence} if i in titles})
        for r in items
    ]  # fmt: skip
    shown = {r.item_id for r in items}
    rest = [(r.item_id, r.title, r.category) for r in others if r.item_id not in shown]
    if mode == "llm" and llm is not None:
        with lock:
            return explain_items(inputs, "llm", llm, language, rest)
    return explain_items(inputs, "template", None, language, rest)


def recommended(items: Sequence[ItemRecord], explanations: Sequence[Explanation]) -> list[RecommendedItem]:
    """The items as results, best first, with their explanations."""
    return [
        RecommendedItem(rank=n, item_id=r.item_id, title=r.title, category=r.category, scene=r.scene,
                        score=round(r.score or 0.0, 6), evidence=r.evidence, explanation=e.text,
                        explanation_source=e.source, attrs=dict(r.attrs))
        for n, (r, e) in enumerate(zip(items, explanations, strict=True), start=1)
    ]  # fmt: skip


def render_reply(result: TurnResult) -> str:
    """The answer as plain text, in the statement's language."""
    topics = [t.name for t in result.summary.topics[:4]]
    lines = [(i.rank, i.explanation) for i in result.items]
    return reply(result.scene, result.summary.language, topics, result.summary.exclusions, lines)

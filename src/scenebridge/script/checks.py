"""Checks one turn's outcome against its expectations; every failure says what was expected and what came."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from scenebridge.agent.explain import ExplainInput, GroundingChecker

if TYPE_CHECKING:
    from scenebridge.agent.state import DialogueState
    from scenebridge.agent.summary import InterestSummary
    from scenebridge.agent.turn import TurnResult
    from scenebridge.script.model import Expect

__all__ = ["Failure", "Known", "Outcome", "check_outcome", "grounding_problems"]


class Failure(BaseModel):
    """One unmet expectation."""

    turn: int
    said: str
    check: str
    expected: str
    got: str

    def line(self) -> str:
        """``turn N "words": check: expected ...; came ...``."""
        said = self.said if len(self.said) <= 60 else self.said[:57] + "..."
        return f'turn {self.turn} "{said}": {self.check}: expected {self.expected}; came {self.got}'


@dataclass
class Outcome:
    """What a turn (or a tool call) gave, in one shape for the checks."""

    items: list[dict[str, Any]] | None = None
    summary: InterestSummary | None = None
    parse_source: str | None = None
    scene: str | None = None
    refinements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: TurnResult | None = None
    error: str | None = None
    llm_calls: int = 0
    crashed: bool = False

    @classmethod
    def of_turn(cls, result: TurnResult, llm_calls: int = 0) -> Outcome:
        """From a turn's result."""
        items = [i.model_dump() for i in result.items]
        return cls(items, result.summary, result.parse_source, result.scene, result.refinements, result.notes,
                   result, None, llm_calls)  # fmt: skip


@dataclass
class Known:
    """What the runner knows beyond one turn: the session's previous answer, the user's profile, the script's links.

    Attributes:
        previous: the item ids the session's previous turn showed (empty on a session's first turn).
        profile: the user's history loaded from the script's ``profiles``.
        prerequisites: item id -> the ids that must be done first (from the script's ``prerequisites``).
    """

    previous: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    prerequisites: Mapping[str, frozenset[str]] = field(default_factory=dict)


def _show(items: Sequence[Mapping[str, Any]], limit: int = 5) -> str:
    if not items:
        return "no items"
    shown = [f'{i.get("item_id")} "{str(i.get("title", ""))[:50]}"' for i in items[:limit]]
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(shown) + more


def _matches(pattern: str, item: Mapping[str, Any]) -> bool:
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], str(item.get("title", "")), re.IGNORECASE) is not None
    return str(item.get("item_id")) == pattern


def grounding_problems(result: TurnResult, titles: Mapping[str, str]) -> list[str]:
    """Explanations of a turn that fail the grounding check (``item: problem``), with history titles known."""

    interests = [t.name for t in result.summary.topics]
    inputs = [
        ExplainInput(i.item_id, i.title, i.category, i.scene, i.evidence, interests,
                     {ev.item_id: titles[ev.item_id] for ev in i.evidence if ev.item_id and ev.item_id in titles})
        for i in result.items
    ]  # fmt: skip
    checker = GroundingChecker(inputs)
    out = []
    for item in result.items:
        out += [f"{item.item_id}: {p}" for p in checker.problems(item.item_id, item.explanation)]
    if [e.item_id for e in result.explanations] != [i.item_id for i in result.items]:
        out.append("the explanations are not one per item in order")
    return out


def check_outcome(
    n: int,
    said: str,
    expect: Expect,
    out: Outcome,
    catalogue: Mapping[str, tuple[str, str]],
    known: Known | None = None,
) -> list[Failure]:
    """Every failure of one turn: the invariants (items from the catalogue, in the result's scene, grounded
    explanations) and the script's expectations."""
    fails: list[Failure] = []
    known = known or Known()

    def fail(check: str, expected: str, got: str) -> None:
        fails.append(Failure(turn=n, said=said, check=check, expected=expected, got=got))

    if out.crashed:
        return [Failure(turn=n, said=said, check="crash", expected="an answer or a clear error", got=str(out.error))]
    if expect.error is not None:
        if out.error is None:
            fail("error", f"an error containing {expect.error!r}", f"an answer ({_show(out.items or [])})")
        elif expect.error.lower() not in out.error.lower():
            fail("error", f"an error containing {expect.error!r}", repr(out.error))
        return fails
    if out.error is not None:
        return [Failure(turn=n, said=said, check="answer", expected="an answer", got=f"error: {out.error}")]
    items = out.items
    if items is not None:
        for i in items:
            iid = str(i.get("item_id"))
            if iid not in catalogue:
                fail("catalogue", "only catalogue items", f"unknown item {iid}")
            elif i.get("title") is not None and catalogue[iid][1] != i.get("title"):
                fail("catalogue", f'{iid} titled "{catalogue[iid][1]}"', f'"{i.get("title")}"')
        scene = expect.scene or out.scene
        wrong = [i for i in items if scene and catalogue.get(str(i.get("item_id")), ("",))[0] != scene]
        if wrong:
            fail("results scene", f"every item in {scene}", _show(wrong))
        if len(items) < expect.min_items:
            fail("min_items", f"at least {expect.min_items} items", f"{len(items)}")
        for p in expect.include:
            if not any(_matches(p, i) for i in items):
                fail(f"include {p}", "an item matching it", _show(items))
        if expect.include_any and not any(_matches(p, i) for p in expect.include_any for i in items):
            fail("include_any", f"an item matching one of {expect.include_any}", _show(items))
        for p in expect.exclude:
            bad = [i for i in items if _matches(p, i)]
            if bad:
                fail(f"exclude {p}", "no item matching it", _show(bad))
    state = out.result.state if out.result is not None else None
    if state is not None and items is not None:
        # Invariant: what the person said they have, have seen or disliked does not come back in the session.
        gone = set(state.seen) | set(state.disliked) | {x.item_id for x in state.linked}
        back = [i for i in items if str(i.get("item_id")) in gone]
        if back:
            fail("seen", "no seen, disliked or linked item again", _show(back))
    linked = [x.model_dump() for x in out.result.linked] if out.result is not None else []
    for p in expect.linked:
        if not any(_matches(p, x) for x in linked):
            fail(f"linked {p}", "a mention linked to it", _show(linked) if linked else "nothing linked")
    if expect.seen_count is not None and (state is None or len(state.seen) != expect.seen_count):
        fail("seen_count", str(expect.seen_count), str(len(state.seen)) if state is not None else "no state")
    if state is not None and items is not None:
        fails += _session_checks(n, said, expect, items, state, known)
    if expect.scene is not None and out.scene is not None and out.scene != expect.scene:
        fail("scene", expect.scene, str(out.scene))
    if expect.parse_source and out.parse_source not in expect.parse_source:
        fail("parse_source", " or ".join(expect.parse_source), str(out.parse_source))
    if expect.summary is not None:
        fails += _summary(n, said, expect, out.summary)
    for text in expect.refinements_contain:
        if not any(text.lower() in r.lower() for r in out.refinements):
            fail("refinements", f"a refinement containing {text!r}", repr(out.refinements))
    for text in expect.notes_contain:
        if not any(text.lower() in r.lower() for r in out.notes):
            fail("notes", f"a note containing {text!r}", repr(out.notes))
    if expect.llm_calls is not None and out.llm_calls != expect.llm_calls:
        fail("llm_calls", str(expect.llm_calls), str(out.llm_calls))
    if expect.grounded and out.result is not None:
        titles = {i: t for i, (_, t) in catalogue.items()}
        problems = grounding_problems(out.result, titles)
        if problems:
            fail("grounded", "explanations built only from their inputs", "; ".join(problems[:3]))
    return fails


def _session_checks(
    n: int, said: str, expect: Expect, items: list[dict[str, Any]], state: DialogueState, known: Known
) -> list[Failure]:
    """``seen_previous``, ``prerequisites_done`` and ``unlocked``: checks against what the session knows, not against
    fixed ids."""
    fails = []
    ids = [str(i.get("item_id")) for i in items]
    if expect.seen_previous:
        if not known.previous:
            fails.append(Failure(turn=n, said=said, check="seen_previous", expected="a previous turn's items",
                                 got="no previous answer in this session"))  # fmt: skip
        unseen = [i for i in known.previous if i not in state.seen]
        back = [i for i in ids if i in known.previous]
        if unseen:
            fails.append(Failure(turn=n, said=said, check="seen_previous", expected="every item shown before seen",
                                 got=f"not seen: {', '.join(unseen)}"))  # fmt: skip
        if back:
            fails.append(Failure(turn=n, said=said, check="seen_previous", expected="none shown before again",
                                 got=f"again: {', '.join(back)}"))  # fmt: skip
    if expect.prerequisites_done:
        # What the person did, as they said it: linked mentions, items they said they have done, their profile.
        done = {x.item_id for x in state.linked} | set(state.seen) | set(known.profile)
        locked = [f"{i} (missing {', '.join(sorted(known.prerequisites[i] - done))})"
                  for i in ids if known.prerequisites.get(i, frozenset()) - done]  # fmt: skip
        if locked:
            fails.append(Failure(turn=n, said=said, check="prerequisites_done", got="; ".join(locked[:5]),
                                 expected="only items whose prerequisites are done"))  # fmt: skip
    if expect.unlocked and not any(known.prerequisites.get(i, frozenset()) & set(known.previous) for i in ids):
        shown = ", ".join(known.previous) or "nothing"
        fails.append(Failure(turn=n, said=said, check="unlocked", got=", ".join(ids) or "no items",
                             expected=f"an item with a prerequisite among {shown}"))  # fmt: skip
    return fails


def _summary(n: int, said: str, expect: Expect, summary: InterestSummary | None) -> list[Failure]:
    want = expect.summary
    if want is None:
        return []
    if summary is None:
        return [Failure(turn=n, said=said, check="summary", expected="a summary", got="none")]
    fails = []
    if want.scene is not None and summary.scene != want.scene:
        fails.append(Failure(turn=n, said=said, check="summary.scene", expected=want.scene, got=str(summary.scene)))
    if want.language is not None and summary.language != want.language:
        fails.append(Failure(turn=n, said=said, check="summary.language", expected=want.language,
                             got=summary.language))  # fmt: skip
    for field_name, wanted, have in (
        ("exclusions", want.exclusions_contain, summary.exclusions),
        ("topics", want.topics_contain, [t.name for t in summary.topics]),
    ):
        for text in wanted:
            if not any(text.lower() in h.lower() for h in have):
                fails.append(Failure(turn=n, said=said, check=f"summary.{field_name}",
                                     expected=f"one containing {text!r}", got=repr(have)))  # fmt: skip
    return fails

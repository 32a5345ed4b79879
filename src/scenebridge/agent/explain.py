"""Grounded explanations: templates built from the reranker's evidence, optional LLM wording, and a checker.

An explanation may mention only its item, that item's fields (title, category, scene), the user's stated interests
and the reranker's evidence. :class:`GroundingChecker` rejects wording that names another item (its id, or words
that only other items' fields have), a number or id that is not in the inputs, or a capitalised name (a brand) that
is not in the inputs; a rejected LLM explanation is replaced by the template.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from scenebridge.agent.wording import evidence_phrase, explanation
from scenebridge.errors import LLMError
from scenebridge.llm.protocol import LLM, Message
from scenebridge.prompts import load_prompt
from scenebridge.rerank.api import Evidence

__all__ = ["ExplainInput", "Explanation", "GroundingChecker", "explain_items", "template_explanation"]

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'-]*|\d+(?:[.,]\d+)*")
_DIGIT = re.compile(r"\d")
# Words an explanation may use to connect facts; they state no fact about any product.
_CONNECTIVE_TEXT = """a an the and or but so as at by for from in into of on to with without this that these those
it its it's is are was were be been being has have had do does did can could may might would will should also which
who whose what when where why how than then very more most much many some any all both each your you you've you're
yours my our we us they them their i me because since given while like liked likes love loved enjoy enjoyed want
wanted wants looking look looked searching search asked ask said say says mention mentioned stated state interest
interests interested match matches matched matching fit fits fitting suit suits suited similar similarity related
relate relates close closely history previous previously past before earlier bought buy buying purchased purchase
item items product products pick picked choice recommended recommend recommendation recommending suggest suggested
here there one other scene scenes category good great nice useful handy well based just still too same kind type
sort way goes complements complement pairs pair along together people users customers shoppers often frequently
popular popularity well-liked chosen choose appears appear per cent percent score weight reason reasons evidence"""
_CONNECTIVES = frozenset(_CONNECTIVE_TEXT.split())


@dataclass
class ExplainInput:
    """What one explanation may draw on.

    Attributes:
        item_id: the item explained.
        title: its catalogue title.
        category: its catalogue category.
        scene: its scene.
        evidence: the reranker's reasons.
        interests: the user's stated interests.
        titles: titles of the items the evidence refers to (id -> title).
    """

    item_id: str
    title: str
    category: str
    scene: str
    evidence: list[Evidence] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)

    def allowed_text(self) -> str:
        """Every input text this explanation may quote."""
        parts = [self.item_id, self.title, self.category, self.scene, *self.interests]
        for ev, phrase in zip(self.evidence, self.phrases("en"), strict=True):
            ref = ev.item_id or ""
            # The text a result already carries counts too (a checker of a result may lack the history titles).
            parts += [phrase, ev.text, ref, ev.scene or "", ev.interest or "", self.titles.get(ref, "")]
        return " ".join(p for p in parts if p)

    def phrases(self, language: str = "en") -> list[str]:
        """The evidence in words (the one renderer, :mod:`scenebridge.agent.wording`)."""
        return [evidence_phrase(ev, self.titles, self.scene, language) for ev in self.evidence]


class Explanation(BaseModel):
    """One item's explanation and where it came from."""

    item_id: str
    text: str
    source: Literal["template", "llm"] = "template"
    rejected: list[str] = Field(default_factory=list, description="Why LLM wording was rejected, if it was.")
    rejected_text: str | None = Field(None, description="The rejected LLM wording (for audits).")


def _norm(word: str) -> str:
    """A crude stem, so that "printing", "printer" and "prints" compare equal."""
    w = word.lower().strip("'-")
    w = w.removesuffix("'s")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suffix, keep in (("ings", 4), ("ing", 4), ("ers", 4), ("er", 4), ("ed", 4), ("es", 4), ("s", 3)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep and not w.endswith("ss"):
            return w[: -len(suffix)]
    return w


def _words(text: str) -> set[str]:
    return {_norm(t) for t in _TOKEN.findall(text)}


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = [_norm(t) for t in _TOKEN.findall(text)]
    return {(a, b) for a, b in itertools.pairwise(words) if a not in _CONNECTIVES and b not in _CONNECTIVES}


def template_explanation(inp: ExplainInput, language: str = "en") -> str:
    """A sentence built only from the item's title and the evidence (English, or Chinese for ``zh``)."""
    return explanation(inp.title, inp.scene, inp.phrases(language), language)


class GroundingChecker:
    """Rejects explanations that go beyond their inputs.

    Args:
        inputs: every explained item's inputs (their ids and fields are "other items" for each other).
        others: further catalogue items the wording must not name, as (item_id, title, category) — e.g. the other
            retrieved candidates.
    """

    def __init__(self, inputs: Sequence[ExplainInput], others: Sequence[tuple[str, str, str]] = ()) -> None:
        self.inputs = {i.item_id: i for i in inputs}
        catalogue = [(i.item_id, i.title, i.category) for i in inputs] + list(others)
        self.ids = {iid.lower() for iid, _, _ in catalogue}
        self.others = catalogue

    def problems(self, item_id: str, text: str) -> list[str]:
        """Why ``text`` is not grounded for ``item_id``; empty when it is."""
        inp = self.inputs.get(item_id)
        if inp is None:
            return [f"{item_id} is not one of the recommended items"]
        allowed_raw = inp.allowed_text().lower()
        allowed = _words(allowed_raw)
        own_ids = {inp.item_id.lower(), *((ev.item_id or "").lower() for ev in inp.evidence)}
        # Two content words in a row from another item's title or category name that item (a product type, a
        # brand with its model); single generic words ("perfect", "creative") are wording, not facts.
        foreign: set[tuple[str, str]] = set()
        for oid, title, category in self.others:
            if oid != item_id:
                foreign |= _bigrams(title) | _bigrams(category)
        out: list[str] = []
        found = list(_TOKEN.finditer(text))
        tokens = [m.group() for m in found]
        norms = [_norm(t) for t in tokens]
        # A capital at the start of a sentence says nothing; elsewhere it marks a name.
        starts = [n == 0 or bool(re.search(r"[.!?:;]", text[found[n - 1].end() : m.start()]))
                  for n, m in enumerate(found)]  # fmt: skip
        for pos, tok in enumerate(tokens):
            low = tok.lower()
            norm = norms[pos]
            # An id quoted from the item's own fields (a title may contain one) is that item's own fact.
            if low in self.ids and low not in own_ids and low not in allowed:
                out.append(f"names another item ({tok})")
            elif _DIGIT.search(tok) and low not in allowed_raw:
                out.append(f"a number or id not in the inputs ({tok})")
            elif tok[0].isupper() and not starts[pos] and norm not in allowed and norm not in _CONNECTIVES:
                out.append(f"a name not in the inputs ({tok})")
            elif pos > 0 and (norms[pos - 1], norm) in foreign and not {norms[pos - 1], norm} <= allowed:
                out.append(f"a fact from another item ({tokens[pos - 1]} {tok})")
        return list(dict.fromkeys(out))


_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "explanations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"item_id": {"type": "string"}, "text": {"type": "string"}},
                "required": ["item_id", "text"],
            },
        }
    },
    "required": ["explanations"],
}


class _Worded(BaseModel):
    item_id: str
    text: str = Field(min_length=1, max_length=400)


class _Answer(BaseModel):
    explanations: list[_Worded]


def _llm_wording(inputs: Sequence[ExplainInput], llm: LLM, language: str) -> tuple[dict[str, str], str | None]:

    prompt = load_prompt("explain")
    items = [
        {"item_id": i.item_id, "title": i.title, "category": i.category, "scene": i.scene,
         "evidence": i.phrases("en")}
        for i in inputs
    ]  # fmt: skip
    interests = list(dict.fromkeys(t for i in inputs for t in i.interests))
    messages: list[Message] = [
        {"role": "system", "content": prompt.render("system", language=language)},
        {"role": "user", "content": prompt.render("user", interests=interests,
                                                   items=json.dumps(items, ensure_ascii=False))},
    ]  # fmt: skip
    try:
        raw = llm.complete(messages, schema=_SCHEMA, max_tokens=60 + 70 * len(inputs))
        answer = _Answer.model_validate_json(raw)
    except (LLMError, ValidationError, ValueError) as exc:
        return {}, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return {w.item_id: w.text.strip() for w in answer.explanations}, None


def explain_items(
    inputs: Sequence[ExplainInput],
    mode: Literal["template", "llm"] = "template",
    llm: LLM | None = None,
    language: str = "en",
    others: Sequence[tuple[str, str, str]] = (),
) -> list[Explanation]:
    """One grounded explanation per item, in the order given.

    With ``mode="llm"`` an LLM words all explanations in one call; each is checked and replaced by the template
    when the checker rejects it (or when the LLM fails or skips the item).
    """
    lang = "zh" if language == "zh" else "en"
    worded: Mapping[str, str] = {}
    failure: str | None = None
    if mode == "llm" and llm is not None and inputs:
        worded, failure = _llm_wording(inputs, llm, lang)
    checker = GroundingChecker(inputs, others)
    out: list[Explanation] = []
    for inp in inputs:
        template = template_explanation(inp, lang)
        if mode != "llm" or llm is None:
            out.append(Explanation(item_id=inp.item_id, text=template))
            continue
        text = worded.get(inp.item_id)
        if not text:
            reason = failure or "the LLM gave no explanation for this item"
            out.append(Explanation(item_id=inp.item_id, text=template, rejected=[reason]))
            continue
        problems = checker.problems(inp.item_id, text)
        if problems:
            out.append(Explanation(item_id=inp.item_id, text=template, rejected=problems, rejected_text=text))
        else:
            out.append(Explanation(item_id=inp.item_id, text=text, source="llm"))
    return out

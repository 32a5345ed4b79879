"""Statement -> InterestSummary: a compact schema-constrained LLM answer, strict validation, one repair, then
deterministic merging (the scene named in the "now" clause, stated exclusions, constraints) or the lexical fallback."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scenebridge.agent.lexical import (
    SceneEvidence,
    default_scene_hints,
    lexical_parse,
    scene_evidence,
    want_clause,
)
from scenebridge.agent.mentions import CONTEXTS, merge_mentions
from scenebridge.agent.summary import InterestSummary, Topic
from scenebridge.errors import LLMError, UsageError
from scenebridge.llm.protocol import LLM, Message
from scenebridge.prompts import load_prompt

if TYPE_CHECKING:
    from scenebridge.store.embed import Embedder

__all__ = [
    "MAX_STATEMENT_CHARS",
    "ParseResult",
    "SceneClassifier",
    "WireAnswer",
    "clean_statement",
    "parse_interests",
    "wire_schema",
]

MAX_STATEMENT_CHARS = 4000
MAX_TOPICS = 5
MAX_MENTIONS = 4
LLM_SCENE_VOTE = 0.05
_NEG_CUE = re.compile(
    r"\b(?:not?|without|except|excluding|avoid|don'?t|never|nothing|allergic|hate)\b|不要|不想|不需要|别|除了|排除|不包括|过敏|讨厌|不喜欢",
    re.IGNORECASE,
)
_LEADING_NEG = re.compile(r"^(?:(?:no|not|without|any|don'?t want)\s+|不要|不想要|别|除了)+", re.IGNORECASE)
_CUE_ONLY = {"not", "no", "without", "except", "excluding", "avoid", "never", "none", "不要", "别", "除了", "排除"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ParseResult:
    """A summary and how it was obtained."""

    summary: InterestSummary
    source: Literal["llm", "llm-repair", "fallback"]
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    prompt_version: int = 0
    scene_from: str | None = None
    """What decided the scene: ``now-clause`` (named in the clause of "now/现在/想/I want/推荐..."), ``embedding``
    (the scene classifier), ``llm``, ``lexical`` (named elsewhere; no classifier, no LLM scene), or ``None``."""
    llm_scene: str | None = None
    """The scene the LLM itself answered (kept for the benchmark, which compares it with the final one)."""


def clean_statement(text: object) -> str:
    """Validates and normalises a statement (NFC, no control characters).

    Raises:
        UsageError: for a non-string, an empty or whitespace-only statement, or one over 4,000 characters.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            msg = "the statement is not valid UTF-8 text"
            raise UsageError(msg) from None
    if not isinstance(text, str):
        msg = f"the statement must be text, not {type(text).__name__}"
        raise UsageError(msg)
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if not text:
        msg = "the statement is empty; say what you did and what you are looking for"
        raise UsageError(msg)
    if len(text) > MAX_STATEMENT_CHARS:
        msg = f"the statement has {len(text):,} characters; keep it under {MAX_STATEMENT_CHARS:,}"
        raise UsageError(msg)
    return text


class WireAnswer(BaseModel):
    """The compact answer the LLM is asked for, converted to an :class:`InterestSummary` afterwards.

    Few fields and no weights: every generated token costs ~40 ms on a 2-core CPU with the 1.5B model, and the full
    summary took ~125 tokens against ~35 for this. Intent, constraints, source scenes and language come from the
    lexical parser, which reads them as well as or better than the small models do.
    """

    model_config = ConfigDict(extra="ignore")

    scene: str | None = None
    topics: list[str]
    exclusions: list[str] = Field(default_factory=list)
    mentioned: list[str] = Field(default_factory=list)
    """What they say they already bought, watched, liked ... (plain phrases; ``{text, action}`` objects accepted).
    Not asked of the model (not in :func:`wire_schema` nor the prompt): asking for it (prompt v3) cost +24.5 % CPU
    p50 per statement with the 1.5B model (6.90 -> 8.60 s, one thread) and one scene of 60; the lexical reader fills
    the mentions. A hosted model that sends it anyway is merged, grounded in the statement."""

    @field_validator("mentioned", mode="before")
    @classmethod
    def _mention_phrases(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            texts = [m.get("text") if isinstance(m, dict) else m for m in v]
            return [t.strip()[:120] for t in texts if isinstance(t, str) and t.strip()][:MAX_MENTIONS]
        return v

    @field_validator("topics", "exclusions", mode="before")
    @classmethod
    def _phrases(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            # A full-summary answer ({"name": ..., "weight": ...}) is accepted too: hosted models may send one.
            names = [t.get("name") if isinstance(t, dict) else t for t in v]
            return [n.strip()[:80] for n in names if isinstance(n, str) and n.strip()][: MAX_TOPICS * 2]
        return v

    @field_validator("scene", mode="before")
    @classmethod
    def _scene(cls, v: Any) -> Any:
        return None if isinstance(v, str) and v.strip().lower() in ("", "null", "none") else v


def wire_schema(scenes: Sequence[str], exclusions: bool = True) -> dict[str, Any]:
    """The JSON schema of :class:`WireAnswer` for constrained decoding: the scene is an enum of the catalogue's.

    Args:
        scenes: the catalogue's scenes.
        exclusions: ask for exclusions. A statement without any negation cue gets none (they would all be dropped,
            see :func:`_grounded_exclusions`), and since the field comes last, leaving it out changes nothing the
            model writes before it: the same answer, ~6 generated tokens fewer.
    """
    phrases = {"type": "array", "items": {"type": "string"}, "maxItems": MAX_TOPICS}
    # Topics first: the model names what is wanted before it picks the scene (as in prompt v1).
    properties: dict[str, Any] = {"topics": phrases, "scene": {"enum": [*scenes, None]}}
    if exclusions:
        properties["exclusions"] = phrases
    return {"title": "Interests", "type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}  # fmt: skip


def _validate(raw: str, scenes: Sequence[str]) -> WireAnswer:
    data = json.loads(raw)
    if not isinstance(data, dict):
        msg = "the answer must be a JSON object"
        raise ValueError(msg)
    answer = WireAnswer.model_validate(data)
    if answer.scene is not None:
        by_lower = {s.lower(): s for s in scenes}
        answer.scene = by_lower.get(answer.scene.lower())  # a scene the catalogue does not have means "none"
    return answer


class SceneClassifier:
    """Scores each scene by the cosine similarity between the "want" clause of a statement and the scene's words
    (its name and hint words), with any multilingual embedder (USE by default in the turn).

    On the 60 labelled statements this alone picked the right scene for 86.7 %, the 1.5B model's own answer for
    66.7 %: the small model cannot know what a "food" shop holds against a "kitchen" one.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._protos: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def scores(self, text: str, hints: Mapping[str, Sequence[str]], also: Sequence[str] = ()) -> dict[str, float]:
        """Cosine of the want clause to each scene's closest word; ``{}`` when there are no scenes.

        Args:
            also: texts embedded in the same call, for a memoising embedder to keep (the turn's interest texts: one
                pass over the model's weights instead of two).
        """
        if not hints:
            return {}
        query = self.embedder.embed([want_clause(text), *also])[0]
        out = {}
        for scene, words in hints.items():
            key = (scene, tuple(words))
            if key not in self._protos:
                self._protos[key] = self.embedder.embed(list(dict.fromkeys([scene, *words])))
            out[scene] = float((self._protos[key] @ query).max())
        return out


def _choose_scene(
    evidence: SceneEvidence, llm_scene: str | None, score: Callable[[], Mapping[str, float]]
) -> tuple[str | None, str | None]:
    """The scene and what decided it (``score()`` gives the embedding scores; it is not called when the "now"
    clause names the scene: 14 of the 32 art/office statements of the labelled set, an embedding saved).

    A scene named in the "want now" clause wins (small models often answer with the scene the person came from).
    Otherwise, with embedding scores, the model's scene is a vote worth ``LLM_SCENE_VOTE`` of cosine: it wins when
    its score is within that of the best one (0.02-0.05 gave the same accuracy on the labelled set; 0.08 less).
    """
    if evidence.now:
        return evidence.now, "now-clause"
    scores = score()
    if scores:
        best = max(scores, key=lambda s: scores[s])
        if llm_scene is not None and llm_scene in scores and scores[best] - scores[llm_scene] <= LLM_SCENE_VOTE:
            return llm_scene, "llm"
        return best, "embedding"
    if llm_scene:
        return llm_scene, "llm"
    return evidence.fallback, "lexical" if evidence.fallback else None


def _summary(
    answer: WireAnswer,
    lexical: InterestSummary,
    evidence: SceneEvidence,
    text: str,
    not_topics: frozenset[str] = frozenset(),
) -> InterestSummary:
    """Combines the LLM's answer with what the lexical parser reads deterministically (all but the scene, which
    :func:`_place` sets: the scene classifier's embedding call also embeds this summary's interest texts).

    A topic that is only a scene's name or word, or a device or platform ("京都" for kyoto, "Instagram", "电脑"), is
    not an interest: the lexical parser never keeps one, and a small model's "京都" ranked every Kyoto place by its
    name ("Kyoto Brewing Company") instead of by the shrines the person shared. Such a topic stays when it is the
    only one left ("办公用品" alone still says more than nothing) — unless the lexical parser read topics of its own:
    then those stand in. "I've been using white transfer paper and jewelry making beads for my arts projects; now show
    me office supplies": the 1.5B model's topics were "art, office supplies", and an interest made of scene words
    ranked the target scene's generic items (on the first turns of 100 test people of `bench conversation`, art ->
    office, NDCG@10 0.0605 against the lexical parser's 0.0638 with the same mentions linked)."""
    topics = answer.topics[:MAX_TOPICS] or [t.name for t in lexical.topics[:MAX_TOPICS]]
    summary = InterestSummary(
        topics=[Topic(name=t, weight=round(1.0 - 0.1 * i, 2)) for i, t in enumerate(topics)],
        # Intent is not asked of the model: the 1.5B model's guess was right for 41 % of the labelled statements
        # (mostly "buy" for everything), the keywords ("gift", "compare", "礼物", else discover) for 93 %.
        intent=lexical.intent,
        exclusions=_grounded_exclusions(answer.exclusions, lexical.exclusions, text),
        constraints=lexical.constraints.model_copy(),
        language=lexical.language,  # counted from the characters; small models guess it wrong
        # The model's mentions only where the statement grounds them; the context is always read lexically.
        mentioned=merge_mentions(text, answer.mentioned, lexical.mentioned),
        context=lexical.context.model_copy(),
    )
    _merge_safety(summary, lexical)
    interests = [t for t in summary.topics if t.name.strip().lower() not in not_topics]
    if interests:
        summary.topics = interests
    elif lexical.topics:
        summary.topics = [t.model_copy() for t in lexical.topics[:MAX_TOPICS]]
    return summary


def _place(
    summary: InterestSummary, scene: str | None, answer: WireAnswer, evidence: SceneEvidence, lexical: InterestSummary
) -> InterestSummary:
    """Sets the chosen scene on a :func:`_summary` (the lexical parser's when none was chosen) and where the person
    came from."""
    # When the model's scene lost to the "now" clause, it is usually the scene they came from.
    summary.source_scenes = [s for s in dict.fromkeys([*evidence.mentioned, answer.scene]) if s and s != scene]
    summary.scene = scene if scene is not None else lexical.scene
    return summary


def parse_interests(
    statement: str,
    llm: LLM | None,
    scenes: Sequence[str] = (),
    scene_hints: Mapping[str, Sequence[str]] | None = None,
    max_tokens: int = 160,
    classifier: SceneClassifier | None = None,
    interest_ahead: bool = False,
) -> ParseResult:
    """Parses a statement into an :class:`InterestSummary`; never fails on a misbehaving LLM.

    Args:
        statement: the user's words (English, Chinese or mixed).
        llm: the backend, or ``None`` for the lexical parser alone.
        scenes: the catalogue's scene names; the summary's scene is one of them or ``None``.
        scene_hints: other words for each scene (e.g. ``{"office": ["办公用品", "stationery"]}``), added to the
            built-in ones (``agent/scene_hints.yaml``).
        max_tokens: cap on the LLM's answer (a compact answer is ~40 tokens); a cut-off answer gets the repair round.
        classifier: scores scenes by embedding similarity when the statement names none in its "now" clause; the
            LLM's scene is then one vote (see :func:`_choose_scene`). Without it the LLM's scene is taken.
        interest_ahead: the classifier's call also embeds the summary's interest texts
            (:meth:`~scenebridge.agent.summary.InterestSummary.interest_texts`), for a turn whose memoising
            embedder then has them: a turn embeds once, not twice.

    Raises:
        UsageError: for a bad statement (see :func:`clean_statement`).
    """
    text = clean_statement(statement)
    fallback = lexical_parse(text, scenes, scene_hints)
    prompt = load_prompt("parse_interests")
    evidence = scene_evidence(text, scenes, scene_hints)

    def scores(summary: InterestSummary) -> Callable[[], dict[str, float]]:
        also = summary.interest_texts() if interest_ahead else []
        return lambda: classifier.scores(text, _hints(scenes, scene_hints), also) if classifier is not None else {}

    if llm is None:
        fallback.scene, scene_from = _choose_scene(evidence, None, scores(fallback))
        return ParseResult(fallback, "fallback", prompt_version=prompt.version, scene_from=scene_from)
    messages: list[Message] = [
        {"role": "system", "content": prompt.render("system", scenes=list(scenes))},
        {"role": "user", "content": prompt.render("user", statement=text)},
    ]
    schema = wire_schema(scenes, exclusions=_NEG_CUE.search(text) is not None)
    errors: list[str] = []
    for attempt in (1, 2):
        try:
            raw = llm.complete(messages, schema=schema, max_tokens=max_tokens)
        except LLMError as exc:
            errors.append(str(exc))
            break
        try:
            answer = _validate(raw, scenes)
        except (ValueError, ValidationError) as exc:
            error = str(exc).splitlines()[0][:300]
            errors.append(error)
            messages = [*messages, {"role": "assistant", "content": raw[:2000]},
                        {"role": "user", "content": prompt.render("repair", error=error)}]  # fmt: skip
            continue
        summary = _summary(answer, fallback, evidence, text, _not_topics(scenes, scene_hints))
        scene, scene_from = _choose_scene(evidence, answer.scene, scores(summary))
        _place(summary, scene, answer, evidence, fallback)
        source: Literal["llm", "llm-repair"] = "llm" if attempt == 1 else "llm-repair"
        return ParseResult(summary, source, attempt, errors, prompt.version, scene_from, answer.scene)
    fallback.scene, scene_from = _choose_scene(evidence, None, scores(fallback))
    return ParseResult(fallback, "fallback", len(errors), errors, prompt.version, scene_from)


def _hints(scenes: Sequence[str], given: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """Each scene's hint words, the caller's first, then the built-in ones."""
    builtin = default_scene_hints()
    return {s: list(dict.fromkeys([*(given or {}).get(s, ()), *builtin.get(s, ())])) for s in scenes}


def _not_topics(scenes: Sequence[str], given: Mapping[str, Sequence[str]] | None) -> frozenset[str]:
    """Scene names and words, devices and platforms (lower case): never a topic on their own."""
    words = {w for s, ws in _hints(scenes, given).items() for w in (s, *ws)}
    words |= {w for name, ws in CONTEXTS.items() for w in (name, *ws)}
    return frozenset(w.lower() for w in words)


def _grounded_exclusions(proposed: Sequence[str], lexical: Sequence[str], text: str) -> list[str]:
    """The LLM's exclusions that the statement does not contradict: a wrong exclusion silently hides good items.

    Without any negation cue in the statement all are dropped (the 1.5B model excluded "素描铅笔" from "最近买了很多
    素描铅笔，现在想买点厨房用具"). A phrase quoted from the statement is kept only when its clause has a negation cue
    at or before it ("allergic to peanuts"); a phrase the statement does not contain (a translation such as
    "printer ink cartridges" for "打印机墨盒", or a paraphrase) is kept, since nothing contradicts it.
    """
    if _NEG_CUE.search(text) is None:
        return []
    low = text.lower()
    kept: list[str] = []
    for phrase in proposed:
        bare = _LEADING_NEG.sub("", phrase).strip()
        key = bare.lower()
        # A bare cue word ("not", "without", "不要") is the prompt copied back (the 0.5B model does), not a thing.
        if not bare or key in (k.lower() for k in kept) or key in _CUE_ONLY:
            continue
        at = low.find(key)
        if at < 0 or any(key in e.lower() or e.lower() in key for e in lexical):
            kept.append(bare)
            continue
        clause_start = max(low.rfind(c, 0, at) for c in ",.;!?，。；！？") + 1
        if any(m.start() <= at for m in _NEG_CUE.finditer(low, clause_start, at + len(key))):
            kept.append(bare)
    return kept


def _merge_safety(summary: InterestSummary, lexical: InterestSummary) -> None:
    """Keeps what the lexical parser is sure of when the LLM dropped it: stated exclusions (a missing scene:
    :func:`_place`)."""
    have = " ".join(summary.exclusions).lower()
    for phrase in lexical.exclusions:
        if phrase.lower() not in have and not any(e.lower() in phrase.lower() for e in summary.exclusions):
            summary.exclusions.append(phrase)
    # Topics that are excluded are not interests.
    excluded = [e.lower() for e in summary.exclusions]
    summary.topics = [
        t for t in summary.topics if not any(t.name.lower() in e or e in t.name.lower() for e in excluded)
    ]

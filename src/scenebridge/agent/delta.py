"""How a follow-up changes what a conversation has established: a compact, validated state delta.

A follow-up is not parsed as a brand-new statement (which lost earlier interests and moved the scene on the turn
after "I've seen all of those"). The lexical reader always gives a delta; with an LLM the model is given the previous
state and the message and answers a schema-constrained delta, which is checked against the message (no exclusion
without a negation cue, no removal of what was never there) and combined with the lexical one. The scene is not
the model's to move: it changes only when the message names another scene (:func:`lexical_delta`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scenebridge.agent.followup import strip_cues
from scenebridge.agent.lexical import lexical_parse, scene_evidence
from scenebridge.agent.summary import Constraints, InterestSummary, Mention, SceneContext, Topic
from scenebridge.agent.wording import change
from scenebridge.errors import LLMError
from scenebridge.llm.protocol import LLM, Message
from scenebridge.prompts import load_prompt

__all__ = [
    "StateDelta",
    "apply_delta",
    "delta_schema",
    "lexical_delta",
    "llm_delta",
    "merge_constraints",
    "merge_deltas",
    "union_phrases",
]

MAX_TOPICS = 8
EARLIER_WEIGHT = 0.5
"""When a follow-up says what it wants (new topics), the earlier topics stay second: their weight times this (a
follow-up that only excludes or constrains keeps them at 0.9 of their weight), below the lead of the interest vector
(:data:`scenebridge.agent.stages.read.LEAD_WEIGHT`). The topics that were words of a mention (what the person did
elsewhere) are dropped then: they are the linked history's, not a wish. Chosen on 200 valid people of `bench
conversation` (docs/conversation.md, session 6)."""
# Words of a follow-up about the conversation itself, not about what is wanted.
_NOISE = {
    "seen", "watched", "already", "all", "those", "these", "them", "ones", "one", "again", "more", "something",
    "anything", "else", "newer", "older", "recent", "new", "sequel", "sequels", "instead", "rather", "actually",
    "fine", "okay", "ok", "show", "give", "another", "other", "different", "few", "some", "same", "too", "much",
    "看过", "看过了", "都", "这些", "那些", "再", "几部", "几个", "几款", "推荐", "别的", "其他", "新", "新一点",
    "续集", "一点", "一下", "换", "换成", "还有", "也", "可以", "没关系",
}  # fmt: skip
_REPLACE = re.compile(r"\b(?:instead|rather than that|something (?:else|different) entirely)\b|换成|换个|改成|改为",
                      re.IGNORECASE)  # fmt: skip
_ALLOW = re.compile(
    r"(?P<en>[\w' -]{2,40}?)\s+(?:is|are)\s+(?:fine|ok|okay|all right)(?:\s+after all)?\b"
    r"|\bactually,?\s+(?:i\s+)?(?:do\s+)?(?:want|like)\s+(?P<en2>[\w' -]{2,40})"
    r"|(?:可以有|可以要|也可以要)(?P<zh>[\u4e00-\u9fff\w]{1,12})|(?P<zh2>[\u4e00-\u9fff\w]{1,12})(?:也行|也可以|没关系)",
    re.IGNORECASE,
)
_CUE_WORDS = {"not", "no", "without", "never", "none", "不要", "别", "不", "没有", "除了"}
_RECENT = re.compile(r"\b(?:new|newer|newest|recent|latest|modern|later|after)\b|新|最近|近期|以后|之后", re.IGNORECASE)
_SEQUEL = re.compile(r"\bsequels?\b|\bpart\s+(?:\d|ii)|\binstall?ments?\b|\bfollow-?ups?\b|续集|续作|第二部",
                     re.IGNORECASE)  # fmt: skip
_NEG_CUE = re.compile(r"\b(?:not?|without|except|avoid|don'?t|never|nothing)\b|不要|不想|别|除了|排除", re.IGNORECASE)


class StateDelta(BaseModel):
    """What one follow-up changes.

    Attributes:
        add_topics: new interests (strongest first).
        remove_topics: earlier interests to drop.
        add_exclusions: new things not wanted.
        remove_exclusions: earlier exclusions lifted ("animation is fine").
        constraints: constraints stated in this message (unset fields change nothing).
        mentioned: things the message says the person did.
        context: device/platform named in this message.
        scene: the scene the message names, if any (the only way the scene moves).
        replace_topics: the message asks for something else instead: its topics replace the earlier ones.
        language: the message's language (explanations follow the latest message).
        source: ``lexical`` or ``llm`` (or both, combined).
    """

    model_config = ConfigDict(extra="ignore")

    add_topics: list[str] = Field(default_factory=list)
    remove_topics: list[str] = Field(default_factory=list)
    add_exclusions: list[str] = Field(default_factory=list)
    remove_exclusions: list[str] = Field(default_factory=list)
    constraints: Constraints = Field(default_factory=lambda: Constraints())
    mentioned: list[Mention] = Field(default_factory=list)
    context: SceneContext = Field(default_factory=lambda: SceneContext())
    scene: str | None = None
    replace_topics: bool = False
    language: str = "en"
    source: str = "lexical"
    stated_exclusions: list[str] = Field(default_factory=list)
    """Every exclusion the message states, new or already in force (a re-stated one is never lifted)."""

    @field_validator("add_topics", "remove_topics", "add_exclusions", "remove_exclusions", mode="before")
    @classmethod
    def _phrases(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            return [p.strip()[:80] for p in v if isinstance(p, str) and p.strip()][:MAX_TOPICS]
        return v


def lexical_delta(
    text: str, prev: InterestSummary, scenes: Sequence[str], scene_hints: Mapping[str, Sequence[str]] | None
) -> StateDelta:
    """The delta read without a model: the lexical parse of the message, less the conversation words."""
    lex = lexical_parse(text, scenes, scene_hints)
    bare = lexical_parse(strip_cues(text), scenes, scene_hints)  # topics without "more like the second one"
    ev = scene_evidence(text, scenes, scene_hints)
    named = ev.now or ev.fallback or (ev.mentioned[-1] if ev.mentioned else None)
    allowed = _allowed(text)
    prev_excl = {e.lower() for e in prev.exclusions}
    removed = [e for e in prev.exclusions if any(a in e.lower() or e.lower() in a for a in allowed)]
    excl = [e for e in lex.exclusions if not _constraint_word(e) and e.lower() not in prev_excl]
    topics = [t.name for t in bare.topics if t.name.lower() not in _NOISE and not _constraint_word(t.name)
              and not any(t.name.lower() in a for a in allowed)]  # fmt: skip
    return StateDelta(
        add_topics=topics, add_exclusions=excl, remove_exclusions=removed, constraints=lex.constraints,
        mentioned=lex.mentioned, context=lex.context, scene=named if named != prev.scene else None,
        replace_topics=bool(_REPLACE.search(text)) or (named is not None and named != prev.scene),
        language=lex.language, source="lexical", stated_exclusions=list(lex.exclusions),
    )  # fmt: skip


def delta_schema() -> dict[str, Any]:
    """The JSON schema the LLM's delta is constrained to (short lists, two flags: every token costs ~40 ms)."""
    phrases = {"type": "array", "items": {"type": "string"}, "maxItems": 4}
    return {
        "title": "Delta",
        "type": "object",
        "properties": {
            "add_topics": phrases, "remove_topics": phrases, "add_exclusions": phrases,
            "remove_exclusions": phrases, "newer": {"type": "boolean"}, "no_sequels": {"type": "boolean"},
        },
        "required": ["add_topics", "remove_topics", "add_exclusions", "remove_exclusions", "newer", "no_sequels"],
        "additionalProperties": False,
    }  # fmt: skip


def llm_delta(llm: LLM, prev: InterestSummary, text: str, max_tokens: int = 120) -> StateDelta | None:
    """The LLM's delta for a follow-up, checked against the message and the previous state; None when the model
    fails or answers nothing valid (the lexical delta stands alone then)."""
    prompt = load_prompt("dialogue_delta")
    state = {"topics": [t.name for t in prev.topics], "exclusions": prev.exclusions, "scene": prev.scene}
    messages: list[Message] = [
        {"role": "system", "content": prompt.render("system")},
        {
            "role": "user",
            "content": prompt.render("user", state=json.dumps(state, ensure_ascii=False), message=text),
        },
    ]
    try:
        raw = llm.complete(messages, schema=delta_schema(), max_tokens=max_tokens)
        data = json.loads(raw)
        if not isinstance(data, dict):
            return None
        delta = StateDelta.model_validate(data)
    except (LLMError, ValueError, ValidationError):
        return None
    low = text.lower()
    have_topics = {t.name.lower(): t.name for t in prev.topics}
    have_excl = {e.lower(): e for e in prev.exclusions}
    # Only what was there, and what the message speaks of: small models "remove" everything and add it back.
    delta.remove_topics = [have_topics[t.lower()] for t in delta.remove_topics
                           if t.lower() in have_topics and _spoken_of(t, low)]  # fmt: skip
    delta.remove_exclusions = [have_excl[e.lower()] for e in delta.remove_exclusions
                               if e.lower() in have_excl and _spoken_of(e, low)]  # fmt: skip
    # A wrong exclusion silently hides good items: none without a negation cue in the message.
    delta.add_exclusions = [e for e in delta.add_exclusions if _NEG_CUE.search(low) and not _constraint_word(e)
                            and e.strip().lower() not in _CUE_WORDS]  # fmt: skip
    delta.add_topics = [t for t in delta.add_topics if t.lower() not in _NOISE and not _constraint_word(t)
                        and t.lower() not in {e.lower() for e in delta.add_exclusions}]  # fmt: skip
    # The flags only where the message speaks of recency or sequels (the 0.5B model sets them for anything).
    newer = data.get("newer") is True and bool(_RECENT.search(low))
    sequels = data.get("no_sequels") is True and bool(_SEQUEL.search(low))
    delta.constraints = Constraints(newer=newer, no_sequels=sequels)
    delta.source = "llm"
    return delta


def merge_deltas(lexical: StateDelta, model: StateDelta | None) -> StateDelta:
    """The lexical delta with the LLM's: the model's topics (it names them better), the union of exclusions and
    removals, constraints from both, the lexical scene, mentions, context and language."""
    if model is None:
        return lexical
    out = lexical.model_copy(deep=True)
    out.add_topics = union_phrases(model.add_topics, [] if model.add_topics else lexical.add_topics)
    out.remove_topics = union_phrases(lexical.remove_topics, model.remove_topics)
    out.add_exclusions = union_phrases(lexical.add_exclusions, model.add_exclusions)
    stated = [x.lower() for x in lexical.stated_exclusions]
    out.remove_exclusions = [e for e in union_phrases(lexical.remove_exclusions, model.remove_exclusions)
                             if not any(x in e.lower() or e.lower() in x for x in stated)]  # fmt: skip
    # "after 1995" is a year bound, not also "newer".
    bound = lexical.constraints.year_min is not None
    out.constraints.newer = lexical.constraints.newer or (model.constraints.newer and not bound)
    out.constraints.no_sequels = lexical.constraints.no_sequels or model.constraints.no_sequels
    out.source = "llm"
    return out


def apply_delta(prev: InterestSummary, delta: StateDelta, changes: list[str]) -> InterestSummary:
    """The summary after a delta (the previous one is not changed); what changed is appended to ``changes``."""
    new = prev.model_copy(deep=True)
    removed = {t.lower() for t in delta.remove_topics}
    old = [] if delta.replace_topics and delta.add_topics else [t for t in prev.topics if t.name.lower() not in removed]
    said = {t.lower() for t in delta.add_topics}
    if said:  # a new wish leads; what was said of things done elsewhere is history (linked), not a wish
        done = [m.text.lower() for m in (*prev.mentioned, *delta.mentioned)]
        old = [t for t in old if t.name.lower() in said or not _part_of(t.name.lower(), done)]
    names = union_phrases(delta.add_topics, [t.name for t in old])[:MAX_TOPICS]
    kept = EARLIER_WEIGHT if said else 0.9
    weights = {t.name.lower(): round(t.weight * kept, 2) for t in old if t.name.lower() not in said}
    new.topics = [Topic(name=n, weight=weights.get(n.lower(), round(1.0 - 0.05 * i, 2))) for i, n in enumerate(names)]
    changes += [change("topic_added", phrase=t) for t in delta.add_topics if t.lower() not in weights]
    changes += [change("topic_removed", phrase=t) for t in delta.remove_topics]
    lifted = {e.lower() for e in delta.remove_exclusions}
    new.exclusions = [e for e in union_phrases(prev.exclusions, delta.add_exclusions) if e.lower() not in lifted][:12]
    had = {e.lower() for e in prev.exclusions}
    changes += [change("exclusion", phrase=e) for e in delta.add_exclusions if e.lower() not in lifted | had]
    changes += [change("exclusion_removed", phrase=e) for e in delta.remove_exclusions]
    merge_constraints(new.constraints, delta.constraints, changes)
    known = {m.text.lower() for m in prev.mentioned}
    new.mentioned = [*prev.mentioned, *(m for m in delta.mentioned if m.text.lower() not in known)][:12]
    new.context = SceneContext(before=delta.context.before or prev.context.before,
                               now=delta.context.now or prev.context.now)  # fmt: skip
    if delta.scene is not None:
        new.scene = delta.scene
    if delta.language in ("en", "zh", "mixed", "other"):
        new.language = delta.language  # type: ignore[assignment]
    excluded = [e.lower() for e in new.exclusions]
    new.topics = [t for t in new.topics if not any(t.name.lower() in e or e in t.name.lower() for e in excluded)]
    return new


def _part_of(topic: str, mentions: Sequence[str]) -> bool:
    """Whether a topic is a mention or one of its words ("stamp" of "cling rubber stamp")."""
    words = set(topic.split())
    return any(words <= set(m.split()) for m in mentions)


def merge_constraints(have: Constraints, said: Constraints, changes: list[str]) -> None:
    """Sets on ``have`` what ``said`` states (unset fields change nothing); each change is appended in words."""
    for name in ("price_max", "price_min", "level", "year_min", "year_max", "brand"):
        value = getattr(said, name)
        if value is not None and value != getattr(have, name):
            setattr(have, name, value)
            changes.append(change("constraint", name=name, value=value))
    for name in ("newer", "no_sequels"):
        if getattr(said, name) and not getattr(have, name):
            setattr(have, name, True)
            changes.append(change("constraint", name=name, value=True))
    for phrase in said.other:
        if phrase not in have.other:
            have.other.append(phrase)
            changes.append(change("cheaper") if phrase == "cheaper" else change("constraint", name="other",
                                                                                 value=phrase))  # fmt: skip


def _spoken_of(phrase: str, message: str) -> bool:
    """True when the (lower-cased) message names the phrase or one of its words (3+ letters, or a Chinese word)."""
    low = phrase.lower()
    if low in message:
        return True
    words = re.findall(r"[a-z0-9]{3,}|[\u4e00-\u9fff]{2,}", low)
    return any(w in message for w in words if w not in ("too", "the", "and"))


def _constraint_word(phrase: str) -> bool:
    """Sequels, years and recency are constraints, not exclusions or topics."""
    return bool(re.search(r"\bsequels?\b|续集|\bnewer\b|\brecent\b|\b(?:19|20)\d\d\b|新一点|新的", phrase, re.I))


def _allowed(text: str) -> list[str]:
    """Phrases the message lifts ("animation is fine", "可以有动画片")."""
    out = []
    for m in _ALLOW.finditer(text):
        phrase = next(g for g in m.groups() if g)
        phrase = re.sub(r"^(?:the|a|an|but|and|ok|so)\s+", "", phrase.strip(), flags=re.I).lower()
        if phrase:
            out.append(phrase)
    return out


def union_phrases(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """``a`` then ``b``, each phrase once (case-insensitive; the first spelling kept)."""
    seen: dict[str, str] = {}
    for x in [*a, *b]:
        seen.setdefault(x.lower(), x)
    return list(seen.values())

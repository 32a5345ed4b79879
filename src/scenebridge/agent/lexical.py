"""A deterministic lexical parser: the floor under the LLM, so that a turn never dies because the LLM misbehaved.

It reads English and Chinese with regular expressions and jieba tokens: exclusions after negations, the scene
mentioned in the "now" part of the statement, price and level constraints, intent keywords, and the remaining
content words as topics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from scenebridge.agent.constraints import read_constraints
from scenebridge.agent.mentions import ACTION_WORDS, default_scene_hints, read_mentions
from scenebridge.agent.summary import Constraints, InterestSummary, Topic
from scenebridge.data.preprocess import normalize_text

__all__ = [
    "SceneEvidence",
    "default_scene_hints",
    "detect_language",
    "keyword_intent",
    "lexical_parse",
    "scene_evidence",
    "want_clause",
]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_STOP_CLAUSE = r"[,.;!?，。；！？、]|\band\b|\bbut\b|\bor\b|而|但|并且|或者"
_NEG_EN = re.compile(
    r"\b(?:not|no|without|except|excluding|avoid|don'?t want|do not want|never|nothing like)\s+(?:any\s+|more\s+)?"
    r"(?P<x>.+?)(?=" + _STOP_CLAUSE + r"|$)",
    re.IGNORECASE,
)
_NEG_ZH = re.compile(
    r"(?:不要|不想要|不需要|别推荐|别给我|别要|别|除了|排除|不包括)(?P<x>.+?)(?=" + _STOP_CLAUSE + r"|$)"
)
_NOW = re.compile(
    r"\b(?:now|next|currently|these days|today)\b|现在|目前|这次|接下来|想|下一站|下次|下个月|現在|這次|接下來",
    re.IGNORECASE,
)
# Where the wanted scene is named: after a time word or a wish verb ("..., I want to browse art supplies"). Intent
# keywords are read after time words only ("I'm learning to cook; recommend spices" is still about learning).
_WISH = re.compile(
    _NOW.pattern + r"|\b(?:want|would like|looking for|need|show me|recommend|suggest)\b|'d like"
    r"|\b(?:i'?m|i am) after\b|需要|推荐|找",
    re.IGNORECASE,
)
_PRICE_MAX = re.compile(
    r"(?:under|below|less than|at most|max(?:imum)?|up to|<|不超过|低于|少于|以内|之内)\s*[$¥€£]?\s*(\d+(?:\.\d+)?)"
    r"|(\d+(?:\.\d+)?)\s*(?:元|块|dollars?|usd|rmb)?\s*(?:以内|以下|之内)",
    re.IGNORECASE,
)
_INTENTS = {
    "gift": ("gift", "present for", "礼物", "送给", "送人"),
    "compare": ("compare", "versus", " vs ", "比较", "对比"),
    "replace": ("replace", "replacement", "换一个", "替换", "换个"),
    "learn": ("learn", "course", "tutorial", "学习", "课程", "教程"),
    "buy": ("buy", "purchase", "order", "购买", "买"),
}
_LEVELS = {
    "beginner": ("beginner", "starter", "first time", "入门", "新手", "初学"),
    "professional": ("professional", "pro-grade", "artist grade", "专业"),
}
# Words about the act of shopping or the device, not about what is wanted.
_NOISE = {
    "bought", "buy", "buying", "purchased", "looking", "look", "like", "liked", "want", "wanted", "need", "get",
    "something", "things", "stuff", "recommend", "recommendations", "show", "see", "find", "please", "also",
    "phone", "mobile", "pc", "computer", "laptop", "tablet", "app", "used", "use", "last", "week", "month", "year",
    "买", "买了", "想", "看看", "推荐", "一些", "东西", "手机", "电脑", "平板", "上", "用", "以前", "之前", "最近",
    "现在", "还", "什么", "好", "需要", "喜欢", "给", "帮", "请", "不要", "不想", "不", "别", "但", "除了",
    "no", "not", "without", "except", "under", "below", "supplies", "products", "items", "maybe", "cheap", "cheaper",
    "便宜", "元", "块", "以内", "以下",
}  # fmt: skip


@cache
def _topic_stopwords() -> frozenset[str]:
    """English and Chinese words that never make a topic (package data ``agent/topic_stopwords.yaml``), and the
    did-verbs."""
    import yaml

    text = resources.files("scenebridge.agent").joinpath("topic_stopwords.yaml").read_text("utf-8")
    data = yaml.safe_load(text) or {}
    return frozenset(str(data.get("en", "")).split() + str(data.get("zh", "")).split()) | ACTION_WORDS


def detect_language(text: str) -> str:
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk and latin > 3 * cjk:
        return "mixed" if cjk >= 2 else "en"
    if cjk and latin >= 4:
        return "mixed"
    if cjk:
        return "zh"
    return "en" if latin else "other"


def _clean_phrase(phrase: str) -> str:
    phrase = re.sub(r"^(?:any|the|a|an|more|some)\s+", "", phrase.strip(), flags=re.IGNORECASE)
    phrase = re.sub(r"[的了吧呢啊]+$", "", phrase)
    words = phrase.split()
    return " ".join(words[:5]) if words else phrase[:20]


def _scene_mentions(text: str, hints: Mapping[str, Sequence[str]]) -> list[tuple[int, str]]:
    low = text.lower()
    found: list[tuple[int, str]] = []
    for scene, words in hints.items():
        for word in {scene, *words}:
            w = word.lower()
            pattern = re.escape(w) if _CJK.search(w) else r"\b" + re.escape(w) + r"s?\b"
            found.extend((m.start(), scene) for m in re.finditer(pattern, low))
    return sorted(found)


@dataclass(frozen=True)
class SceneEvidence:
    """Where a statement names scenes, read without any model.

    Attributes:
        now: the scene named in the clause of a "now / 现在 / 想" marker or after it (what they want now), if any.
        fallback: the scene to use when nothing better is known: ``now``, else the last scene named in a statement
            without any "now" marker; a scene named only before the marker is where they were, not where they go.
        mentioned: every scene named outside an exclusion, in order of first mention.
    """

    now: str | None
    fallback: str | None
    mentioned: tuple[str, ...]


def _merged_hints(scenes: Sequence[str], scene_hints: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    given = scene_hints or {}
    builtin = default_scene_hints()
    return {s: [*given.get(s, ()), *builtin.get(s, ())] for s in scenes}


def _exclusions(statement: str) -> tuple[list[str], list[tuple[int, int]]]:
    exclusions: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern in (_NEG_EN, _NEG_ZH):
        for m in pattern.finditer(statement):
            phrase = _clean_phrase(m.group("x"))
            if phrase and phrase.lower() not in (e.lower() for e in exclusions):
                exclusions.append(phrase)
                spans.append(m.span())
    return exclusions, spans


def scene_evidence(
    statement: str, scenes: Sequence[str] = (), scene_hints: Mapping[str, Sequence[str]] | None = None
) -> SceneEvidence:
    """Finds the scenes a statement names (scene names and their hint words), and which one it wants now."""
    hints = _merged_hints(scenes, scene_hints)
    _, spans = _exclusions(statement)
    mentions = [(pos, s) for pos, s in _scene_mentions(statement, hints) if not any(a <= pos < b for a, b in spans)]
    now = _WISH.search(statement)
    # The "now" clause starts at the punctuation before the marker: "Show me kitchen stuff now." names its scene first.
    start = max(statement.rfind(c, 0, now.start()) for c in ",.;!?，。；！？") + 1 if now else 0
    in_now = [s for pos, s in mentions if now and pos >= start]
    now_scene = in_now[-1] if in_now else None
    fallback = now_scene or (mentions[-1][1] if mentions and not now else None)
    return SceneEvidence(now_scene, fallback, tuple(dict.fromkeys(s for _, s in mentions)))


def want_clause(statement: str) -> str:
    """The part of a statement that says what is wanted now: from the clause of the first time word or wish verb
    on, with exclusions cut out (the whole statement, less exclusions, when there is no such word)."""
    _, spans = _exclusions(statement)
    for a, b in sorted(spans, reverse=True):
        statement = statement[:a] + " " + statement[b:]
    now = _WISH.search(statement)
    if now is None:
        return statement.strip()
    start = max(statement.rfind(c, 0, now.start()) for c in ",.;!?，。；！？") + 1
    return statement[start:].strip()


def keyword_intent(statement: str) -> str | None:
    """The intent named by a keyword in the "now" part of the statement (gift, compare, ...), or ``None``."""
    low = statement.lower()
    now = _NOW.search(statement)
    # What they did before ("I bought ...") is not what they want now: read the intent after "now" if there is one.
    wish = low[now.start() :] if now else low
    return next((name for name, keys in _INTENTS.items() if any(k in wish for k in keys)), None)


def lexical_parse(
    statement: str, scenes: Sequence[str] = (), scene_hints: Mapping[str, Sequence[str]] | None = None
) -> InterestSummary:
    """Parses a statement without any model."""
    hints = _merged_hints(scenes, scene_hints)
    exclusions, _ = _exclusions(statement)
    evidence = scene_evidence(statement, scenes, scene_hints)
    scene = evidence.fallback
    source_scenes = sorted(s for s in evidence.mentioned if s != scene)
    low = statement.lower()
    intent = keyword_intent(statement) or "discover"
    level = next((name for name, keys in _LEVELS.items() if any(k in low for k in keys)), None)
    price = _PRICE_MAX.search(statement)
    price_max = float(price.group(1) or price.group(2)) if price else None
    other = ["cheaper"] if re.search(r"\bcheap(er)?\b|便宜|实惠", low) else []

    excluded_tokens = {t for e in exclusions for t in normalize_text(e)}
    # Chinese hint words can only drop tokens of a Chinese statement; skipping them keeps an English parse from
    # loading jieba's dictionary (1-3 s in a fresh process).
    cjk = bool(_CJK.search(statement))
    scene_tokens = {t for s, ws in hints.items() for w in (s, *ws) if cjk or not _CJK.search(w)
                    for t in normalize_text(w)}  # fmt: skip
    stop = _topic_stopwords()
    kept = [
        t for t in normalize_text(statement)
        if t not in _NOISE and t not in stop and t not in excluded_tokens and t not in scene_tokens and not t.isdigit()
    ]  # fmt: skip
    unique = list(dict.fromkeys(kept))[:8]
    topics = [Topic(name=t, weight=round(1.0 - 0.08 * i, 2)) for i, t in enumerate(unique)]
    constraints = read_constraints(statement, Constraints(price_max=price_max, price_min=None, level=level,
                                                          other=other))  # fmt: skip
    mentioned, context = read_mentions(statement, scenes, scene_hints)
    return InterestSummary(
        topics=topics,
        scene=scene,
        source_scenes=source_scenes,
        intent=intent,
        exclusions=exclusions,
        constraints=constraints,
        language=detect_language(statement),
        mentioned=mentioned,
        context=context,
    )

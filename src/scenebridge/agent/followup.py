"""Follow-up cues, read deterministically (no LLM) before anything else: "not office paper" / "不要办公纸" (an
exclusion), "cheaper" / "便宜点", "more like the second one" / "更像第二个" (anchor on a shown item), "I've seen all
of those" / "这些都看过了" (the shown items are seen), "show them again" (seen items may come back)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Refinement", "is_pure_refinement", "read_refinement", "strip_cues"]

_ORDINALS_EN = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
                "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}  # fmt: skip
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_MORE_LIKE = re.compile(
    r"\b(?:more|others?|something|things|items?|ones?)\s+like\s+(?:the\s+|that\s+|number\s+|#\s*|no\.?\s*)?"
    r"(?P<en>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d+)(?:st|nd|rd|th)?\b"
    r"|(?:更像|类似|像|和|跟)第\s*(?P<zh>[一二两三四五六七八九十]|\d+)\s*(?:个|款|件|项|种)",
    re.IGNORECASE,
)
_CHEAPER = re.compile(
    r"\b(?:cheaper|less expensive|lower price|budget|inexpensive)\b|便宜|实惠|低价|划算", re.IGNORECASE
)
_NEGATION_START = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:not|no|without|except|exclude|excluding|skip|avoid|none of)\b"
    r"|^\s*(?:也|还)?(?:不要|别|除了|排除|不想要)",
    re.IGNORECASE,
)
_FILLER = re.compile(r"\b(?:please|pls|thanks|ones?|items?|options?|stuff|show me|give me|some)\b|[请吧呢的了些点一]",
                     re.IGNORECASE)  # fmt: skip


_SEEN = re.compile(
    r"\b(?:(?:i|we)(?:'ve| have)?\s+(?:already\s+)?(?:seen|watched|read|had|got|bought|tried|done|visited|been\s+to)"
    r"|(?:i|we)\s+(?:already\s+)?(?:own|have))\s+(?:all\s+|both\s+|most\s+)?(?:of\s+)?(?:those|these|them|that|"
    r"the(?:se)?\s+(?:ones|films|movies|items))\b"
    r"|\b(?:seen|watched|had|done)\s+(?:them|those|these)\s+(?:all|already)\b"
    r"|(?:这些|那些|它们|上面的|这几[个部款本])(?:都|全都|我都|我)?(?:已经)?(?:看过|买过|有了|用过|去过|学过|做过|看了|买了)"
    r"|(?:都|全都)(?:已经)?(?:看过|买过|有了|用过|去过|学过|做过)了",
    re.IGNORECASE,
)
_AGAIN = re.compile(
    r"\b(?:show|give|list)\s+(?:me\s+)?(?:them|those|these|the\s+(?:same|earlier|previous)\s+ones)\s+again\b"
    r"|\bagain\s+(?:the\s+)?(?:ones|items|films)\s+(?:i|we)\s+(?:saw|had)\b|再(?:给我)?(?:看看|显示|推荐)(?:一下)?(?:刚才|之前|上面)的",
    re.IGNORECASE,
)


@dataclass
class Refinement:
    """What a follow-up asks to change, read from its cues without a model.

    Attributes:
        more_like: 1-based position in the last results (-1 = the last one) to anchor on.
        cheaper: "cheaper" / "便宜点".
        negation: the message starts with a negation ("not pens", "不要动画片").
        seen: "I've seen all of those" / "这些都看过了": the shown items are marked seen.
        again: "show them again": seen items may come back.
    """

    more_like: int | None = None
    cheaper: bool = False
    negation: bool = False
    seen: bool = False
    again: bool = False

    @property
    def any(self) -> bool:
        """True when the message has any refinement cue."""
        return self.more_like is not None or self.cheaper or self.negation or self.seen or self.again


def read_refinement(statement: str) -> Refinement:
    """Reads refinement cues in a follow-up statement (English or Chinese)."""
    ref = Refinement()
    m = _MORE_LIKE.search(statement)
    if m:
        if m.group("en"):
            word = m.group("en").lower()
            ref.more_like = int(word) if word.isdigit() else _ORDINALS_EN[word]
        else:
            zh = m.group("zh")
            ref.more_like = int(zh) if zh.isdigit() else _ZH_DIGITS[zh]
    ref.cheaper = bool(_CHEAPER.search(statement))
    ref.negation = bool(_NEGATION_START.search(statement))
    ref.seen = bool(_SEEN.search(statement))
    ref.again = bool(_AGAIN.search(statement))
    return ref


def is_pure_refinement(statement: str, ref: Refinement) -> bool:
    """True when a follow-up only refines (nothing new to parse with an LLM): short, and made of refinement cues."""
    if not ref.any:
        return False
    rest = _MORE_LIKE.sub(" ", statement)
    rest = _CHEAPER.sub(" ", rest)
    rest = _SEEN.sub(" ", rest)
    rest = _AGAIN.sub(" ", rest)
    rest = _FILLER.sub(" ", rest)
    return ref.negation or (len(rest.split()) <= 3 and len(re.sub(r"\W", "", rest)) <= 12)


def strip_cues(statement: str) -> str:
    """The statement without its refinement cues ("more like the second one", "cheaper", "seen all of those")."""
    for pattern in (_MORE_LIKE, _CHEAPER, _SEEN, _AGAIN):
        statement = pattern.sub(" ", statement)
    return statement

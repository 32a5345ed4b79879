"""Constraints on item attributes (year, price, sequels, brand) read from a statement, and sequel titles.

Cues are read by patterns, in English and Chinese, tuned for precision: a cue that is not read costs one
constraint, a cue read wrongly filters good items away. What the patterns read:

- years: "after 2000" (2001 on), "since 2000" / "from 2000 on" / "2000 or later" (2000 on), "before 1990" (up to
  1989), "until 1990" / "1990 or earlier", "between 1990 and 2000", decades ("the 90s", "'80s", "1970s",
  "the eighties", "early 90s"), "2000年以后" (2000 on), "1990年以前" (up to 1989), "90年代" / "九十年代";
- newer: "newer", "more recent", "most recent", "latest", "recent" (not "my recent ...", "recent years"), "新一点",
  "较新", "最新", "近几年上映的" (not "近几年我..."); "new" and "modern" alone are not read ("modern art" is a topic);
- prices, beside what the lexical parser reads ("under 20", "20元以内"): "under 20 bucks", "cheaper than $20",
  "budget $30", "预算100", "over $50", "at least 50 dollars", "50元以上", "between $10 and $20", "$10-$20";
- no sequels: "no sequels", "not a sequel", "without sequels", "不要续集", "别推荐续作";
- brand: "Pilot brand", "brand Pilot", "made by Sharpie", "by Sharpie" (a capitalised name that is not a day,
  month or a maker of art: "inspired by Monet" is no brand), "晨光牌的", "品牌是晨光".

:func:`is_sequel` tells a sequel by its title: "Part II", "Part 2", "Part Deux", a Roman numeral II-IX or a digit
2-5 at the end or before a colon ("Alien 3", "Terminator 2: Judgment Day", "Star Trek IV: ..."), a digit 6-9 only
before a colon (so "District 9", "Girl 6" stay), "Returns", "Strikes Back", "续集", "第二部". Regnal numbers
("Richard III", "Henry V") and "World War II" are not sequels; "Return of ..." and "Revenge of ..." are not read
(*Return of Martin Guerre* and *Revenge of the Nerds* are firsts).
"""

from __future__ import annotations

import re
from typing import Any

from scenebridge.agent.summary import Constraints

__all__ = ["is_sequel", "is_sequel_phrase", "read_constraints"]

_Y = r"((?:1[89]|20)\d{2})"  # a year from 1800 to 2099
_NOT_DECADE = r"(?!\s*'?s\b)(?!\d)"
_NEG = r"(?:not|no|nothing|none|never)(?:\s+(?:from|made|released|films?|movies?|ones?))?"
# Year bounds, most specific first; each match is removed from the text before the next pattern runs.
_YEAR_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:between|from)\s+{_Y}\s*(?:and|to|until|-|–)\s*{_Y}{_NOT_DECADE}", re.I), "range"),
    # "nothing before 1970" is "1970 on", not "before 1970".
    (re.compile(rf"\b{_NEG}\s+(?:before|earlier than|older than)\s+{_Y}{_NOT_DECADE}", re.I), "min"),
    (re.compile(rf"\b{_NEG}\s+(?:after|later than|newer than)\s+{_Y}{_NOT_DECADE}", re.I), "max"),
    (re.compile(rf"\b(?:after|newer than|later than|post-?)\s*{_Y}{_NOT_DECADE}", re.I), "after"),
    (re.compile(rf"\b(?:since|from)\s+{_Y}\s*(?:on\b|onwards?\b|or later\b|and later\b)?{_NOT_DECADE}", re.I), "min"),
    (re.compile(rf"\b{_Y}\s*(?:or|and)\s+(?:later|newer|after)\b|\b{_Y}\s+onwards?\b|\b{_Y}\+", re.I), "min"),
    (re.compile(rf"\b(?:before|older than|earlier than|pre-?)\s*{_Y}{_NOT_DECADE}", re.I), "before"),
    (re.compile(rf"\b(?:until|up to|through)\s+{_Y}{_NOT_DECADE}", re.I), "max"),
    (re.compile(rf"\b{_Y}\s*(?:or|and)\s+(?:earlier|older|before)\b", re.I), "max"),
    (re.compile(rf"{_Y}\s*年\s*(?:以后|之后|后|以来|起|至今)"), "min"),
    (re.compile(rf"{_Y}\s*年\s*(?:以前|之前|前)"), "before"),
]
_EN_DECADES = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
               "seventies": 1970, "eighties": 1980, "nineties": 1990}  # fmt: skip
_ZH_DECADES = {"二十": 1920, "三十": 1930, "四十": 1940, "五十": 1950, "六十": 1960, "七十": 1970, "八十": 1980,
               "九十": 1990}  # fmt: skip
_DECADE = re.compile(
    r"(?P<pre>\b(?:my|your|his|her|their|our|in (?:my|his|her|their) (?:early|mid|late))\s+)?"
    r"\b(?:(?P<part>early|mid|late)[- ]?)?(?:the\s+)?(?:(?P<full>(?:19|20)\d0)s|['’]?(?P<two>\d0)s|"
    r"(?P<word>" + "|".join(_EN_DECADES) + r"))\b",
    re.I,
)
_ZH_DECADE = re.compile(r"(?:(?P<full>(?:19|20)\d0)|(?P<two>\d0)|(?P<word>" + "|".join(_ZH_DECADES) + r"))年代")

_NEWER = re.compile(
    r"\b(?:newer|more recent|most recent|latest|newest|recently released|not (?:too |so |that )?old)\b"
    # "recent" of the items, not of the person ("my recent purchases", "in recent years I ...").
    r"|(?<!\bmy )(?<!\bour )(?<!\byour )(?<!\bhis )(?<!\bher )(?<!\btheir )\brecent\b"
    r"(?!\s+(?:years?|months?|weeks?|days?|times?|purchases?|orders?)\b)"
    r"|新一点|新一些|新点|更新一点|更新的|较新|最新|(?:近(?:几|些)?年|这几年)(?:来)?(?:的|上映|出的|拍的|新出)",
    re.I,
)

_MONEY = r"[$¥€£]\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:dollars?|bucks|usd|euros?|rmb|yuan|元|块钱?)"
_PRICE_MAX = re.compile(
    r"\b(?:under|below|less than|cheaper than|at most|max(?:imum)?|up to|no more than|budget(?: of| is)?)\s*"
    rf"(?:{_MONEY})"
    r"|预算\s*(?:是|为|在)?\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:元|块钱?)?\s*(?:以内|以下|之内)",
    re.I,
)
_PRICE_MIN = re.compile(
    rf"\b(?:over|above|more than|at least|min(?:imum)?|no less than)\s*(?:{_MONEY})"
    r"|(\d+(?:\.\d+)?)\s*(?:元|块钱?)\s*(?:以上|起)",
    re.I,
)
_PRICE_RANGE = re.compile(
    r"(?:between\s+)?[$¥€£]\s*(\d+(?:\.\d+)?)\s*(?:and|to|-|–)\s*[$¥€£]?\s*(\d+(?:\.\d+)?)"
    r"|(\d+(?:\.\d+)?)\s*(?:-|到|至)\s*(\d+(?:\.\d+)?)\s*(?:元|块钱?)",
    re.I,
)
# A number the lexical parser read as a price but that counts something else ("less than 2 hours").
_NOT_MONEY = re.compile(
    r"\s*(?:hours?|hrs?|minutes?|mins?|pages?|years?|items?|pieces?|people|players|kg|g|ml|cm|mm|inch(?:es)?|"
    r"stars?|年|小时|分钟|页|个|件|岁|星)",
    re.I,
)

# A negation, a few filler words ("not a", "no more", "don't want any films that are"), then "sequel": a looser gap
# read "I have no problem with sequels" as a wish for none.
_FILLER = r"(?:\s+(?:more|any|a|an|the|those|these|that|which|is|are|of|kind|sort|movies?|films?|books?|games?|ones?))*"
_NO_SEQUELS = re.compile(
    r"\b(?:no|not|without|avoid|skip|exclude|excluding|except|minus|none of the|nothing that'?s|"
    r"don'?t (?:want|show|give me|recommend)|do not (?:want|show|recommend)|never)" + _FILLER + r"\s+sequels?\b"
    r"|\bnon-?sequels?\b"
    r"|(?:不要|不想要|不想看|不看|不喜欢|别|除了|排除|不包括|非|没有)[^，。,.!?！？]{0,6}?(?:续集|续作|续篇|第二部)",
    re.I,
)

_NAME = r"([A-Z][\w&'’-]*(?:\s+[A-Z][\w&'’-]*)?)"
_BRAND = [
    re.compile(rf"\b{_NAME}[\s-]+brand(?:ed)?\b"),
    re.compile(rf"\b(?:the\s+)?brand\s+(?:is\s+|called\s+|named\s+|like\s+)?{_NAME}"),
    re.compile(rf"\b(?:made|produced|manufactured)\s+by\s+{_NAME}"),
    re.compile(rf"(?<![Ii]nspired )(?<![Ww]ritten )(?<![Dd]irected )(?<![Pp]ainted )(?<![Ss]tarring )\bby\s+{_NAME}"),
]
_ZH_BRAND = [
    re.compile(r"(?:品牌|牌子)\s*(?:是|为|要|选|用|:|：)\s*([\w\u4e00-\u9fff]{1,12}?)(?=的|[，,。.！!？?\s]|$)"),
    re.compile(r"([A-Za-z][\w&-]{1,15}|[\u4e00-\u9fff]{2,6})(?:牌|品牌)的"),
]
_NOT_BRAND = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "christmas",
    "tomorrow", "tonight", "the", "a", "an", "i", "me", "my", "us", "amazon", "扑克", "王", "名", "大", "冒",
    "老", "招", "金", "车", "门", "品", "杂",
}  # fmt: skip


def _year_bounds(text: str) -> tuple[int | None, int | None, str]:
    """(earliest, latest, the text without the matched phrases)."""
    lo: int | None = None
    hi: int | None = None
    for pattern, kind in _YEAR_PATTERNS:
        for m in list(pattern.finditer(text)):
            years = [int(g) for g in m.groups() if g]
            if kind == "range":
                lo, hi = min(years), max(years)
            elif kind == "after":
                lo = years[0] + 1
            elif kind == "min":
                lo = years[0]
            elif kind == "before":
                hi = years[0] - 1
            else:
                hi = years[0]
        text = pattern.sub(" ", text)
    return lo, hi, text


def _decade(text: str) -> tuple[int, int] | None:
    for m in _DECADE.finditer(text):
        if m.group("pre"):  # "in my 30s" is an age
            continue
        return _span(m, _EN_DECADES)
    zh = _ZH_DECADE.search(text)
    return _span(zh, _ZH_DECADES) if zh else None


def _span(m: re.Match[str], words: dict[str, int]) -> tuple[int, int]:
    if m.group("full"):
        start = int(m.group("full"))
    elif m.group("two"):
        two = int(m.group("two"))
        start = (2000 if two <= 20 else 1900) + two  # "the 00s", "10s", "20s" are this century's
    else:
        start = words[m.group("word").lower()]
    part = (m.groupdict().get("part") or "").lower()
    first, last = {"early": (0, 3), "mid": (3, 6), "late": (6, 9)}.get(part, (0, 9))
    return start + first, start + last


def _money(m: re.Match[str]) -> float:
    return float(next(g for g in m.groups() if g))


def _prices(text: str, rest: str, base_max: float | None) -> tuple[float | None, float | None]:
    """(lowest, highest) price; ``rest`` is the text without its year phrases."""
    lo: float | None = None
    hi = base_max
    if hi is not None:
        # The lexical parser's "up to 1990" is a year, and its "less than 2 hours" no price at all.
        found = list(re.finditer(rf"(?<![\d.]){re.escape(f'{hi:g}')}(?:\.0+)?(?![\d.])", rest))
        if not found or all(_NOT_MONEY.match(rest, m.end()) for m in found):
            hi = None
    rng = _PRICE_RANGE.search(text)
    if rng:
        a, b = (float(g) for g in rng.groups() if g)
        return min(a, b), max(a, b)
    if (m := _PRICE_MAX.search(text)) is not None:
        hi = _money(m)
    if (m := _PRICE_MIN.search(text)) is not None:
        lo = _money(m)
    return lo, hi


_ZH_VERB = re.compile(r"^(?:我|想|要|买|用|选|来|找|推荐|给我|只|最好|是|个|点|一些)+")


def _brand(text: str) -> str | None:
    for pattern in _BRAND:
        for m in pattern.finditer(text):
            name = re.sub(r"^(?:The|A|An)\s+", "", m.group(1).strip())
            if name and name.lower() not in _NOT_BRAND and name.split()[0].lower() not in _NOT_BRAND:
                return name
    for pattern in _ZH_BRAND:
        for m in pattern.finditer(text):
            name = _ZH_VERB.sub("", m.group(1).strip())  # "要晨光牌的": the brand is 晨光
            if name and name not in _NOT_BRAND and name.lower() not in _NOT_BRAND:
                return name
    return None


def read_constraints(statement: str, base: Constraints) -> Constraints:
    """The constraints a statement states, on top of ``base`` (what the lexical parser read already).

    A bound the statement states replaces the base's; everything else of ``base`` is kept.
    """
    lo, hi, rest = _year_bounds(statement)
    if lo is None and hi is None and (decade := _decade(rest)) is not None:
        lo, hi = decade
    price_min, price_max = _prices(statement, rest, base.price_max)
    update: dict[str, Any] = {
        "year_min": lo if lo is not None else base.year_min,
        "year_max": hi if hi is not None else base.year_max,
        "newer": base.newer or bool(_NEWER.search(rest)),
        "no_sequels": base.no_sequels or bool(_NO_SEQUELS.search(statement)),
        "brand": base.brand or _brand(statement),
        "price_max": price_max,
        "price_min": price_min if price_min is not None else base.price_min,
    }
    return base.model_copy(update=update)


_TAIL = re.compile(r"(?:\s*\([^()]*\))+\s*$")  # "(1995)", "(V)", "(Se7en)"
_ARTICLE = re.compile(r",\s*(?:The|A|An|Le|La|Les|L'|Il|Der|Die|Das|El)\s*$")
_PART = re.compile(r"\bPart\s+(?:II|III|IV|V|VI|VII|VIII|IX|[2-9]|Deux|Two|Three|Four|Trois)\b", re.I)
_END = r"(?=\s*(?:$|[:,–—]|-(?!\w{3})))"  # the end, a colon, a comma or "-D" ("Jaws 3-D"), not "-Five"
_NUMERAL = re.compile(r"(?<=\w)\s+(II|III|IV|V|VI|VII|VIII|IX)" + _END)
_DIGIT = re.compile(r"(?<=[A-Za-z!?'’.])\s+([2-5])" + _END + r"|(?<=[A-Za-z!?'’.])\s+([6-9])(?=\s*:)")
_PHRASES = re.compile(r"\b(?:Returns|Strikes Back|Rides Again)\b", re.I)
_ZH_SEQUEL = re.compile(r"续集|续篇|第[二三四五六七八九2-9]部|(?<=[\u4e00-\u9fff])\s*(?:[2-5]|II|III)\s*$")
# Names a Roman numeral follows without making a sequel: kings, queens, popes, wars.
_REGNAL = {
    "richard", "henry", "edward", "george", "louis", "charles", "elizabeth", "james", "william", "john", "paul",
    "pius", "leo", "ludwig", "philip", "frederick", "ivan", "peter", "gregory", "ramses", "constantine", "nicholas",
    "alexander", "mary", "anne", "victoria", "innocent", "benedict", "war", "world",
}  # fmt: skip


_SEQUEL_PHRASE = re.compile(r"(?:(?:the|any|more)\s+)?(?:sequels?|follow-?ups?)|续集|续作|续篇|第二部", re.I)


def is_sequel_phrase(phrase: str) -> bool:
    """Whether an exclusion phrase only says "sequels" (the constraint filter applies it, by title)."""
    return bool(_SEQUEL_PHRASE.fullmatch(phrase.strip()))


def is_sequel(title: str) -> bool:
    """Whether a title reads as a sequel's (see the module notes for the patterns and what they leave out)."""
    name = _ARTICLE.sub("", _TAIL.sub("", title.strip())).strip()
    if _PART.search(name) or _PHRASES.search(name) or _ZH_SEQUEL.search(name) or _DIGIT.search(name):
        return True
    for m in _NUMERAL.finditer(name):
        before = name[: m.start()].split()
        if not before or before[-1].strip(":,").lower() not in _REGNAL:
            return True
    return False

"""What a person says they did ("I bought watercolor paints on my PC"), read without a model: mentions and context.

A mention is an object of a "did" verb (bought, watched, loved, hated, finished, visited ...) in the part of the
statement before the first "now / want / 现在 / 想" marker: what they want now is never read as something they did.
The context is the device, platform or app before and now ("on my PC ... now on my phone" -> PC -> phone), by
canonical English name, so that "电脑" and "PC" are one context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

from scenebridge.agent.summary import Mention, SceneContext

__all__ = ["ACTION_WORDS", "CONTEXTS", "default_scene_hints", "merge_mentions", "read_mentions"]

# Canonical context -> the words people use for it (lower case; Chinese as written).
CONTEXTS: dict[str, tuple[str, ...]] = {
    "PC": ("pc", "computer", "desktop", "电脑", "台式机", "台式电脑", "電腦", "桌機"),
    "laptop": ("laptop", "notebook computer", "macbook", "笔记本电脑", "筆記型電腦", "筆電"),
    "phone": ("phone", "mobile", "smartphone", "iphone", "android phone", "cellphone", "手机", "手機"),
    "tablet": ("tablet", "ipad", "平板", "平板电脑", "平板電腦"),
    "TV": ("tv", "smart tv", "television", "电视"),
    "WeChat": ("wechat", "weixin", "微信"),
    "Weibo": ("weibo", "微博"),
    "Taobao": ("taobao", "淘宝"),
    "JD": ("jd.com", "jingdong", "京东"),
    "Douyin": ("douyin", "tiktok", "抖音"),
    "Xiaohongshu": ("xiaohongshu", "rednote", "小红书"),
    "Bilibili": ("bilibili", "b站", "哔哩哔哩"),
    "Instagram": ("instagram",),
    "YouTube": ("youtube",),
    "Netflix": ("netflix",),
    "Amazon": ("amazon",),
    "web": ("website", "browser", "网页", "网站", "网上"),
}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _word_re(words: Sequence[str]) -> str:
    parts = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(w) if _CJK.search(w) else r"\b" + re.escape(w) + r"s?\b" for w in parts)


_CTX_WORD = {w: name for name, words in CONTEXTS.items() for w in words}
_CTX = re.compile(_word_re(list(_CTX_WORD)), re.IGNORECASE)
# The first marker of what is wanted now; what comes after it is never read as something done.
_WANT = re.compile(
    r"\b(?:now|next|currently|these days|today|tonight|this time|want|would like|looking for|need|show me|"
    r"recommend|suggest|any good|what should|can you)\b|'d like|现在|目前|这次|接下来|今晚|想|需要|推荐|有没有"
    r"|現在|這次|接下來|推薦|有沒有|下一站|下次|下个月",
    re.IGNORECASE,
)
_SUBJ = r"(?:\b(?:i|we)(?:'ve|'d| have| had)?\s+(?:(?:really|just|also|already|recently|once|all|both|"
_SUBJ += r"totally|absolutely|usually|often|always|never|been)\s+)*)"
_TITLE_OBJ = r"(?=\s*(?-i:[\"“'《A-Z0-9]))"  # present-tense "I love X" counts only for a title-like X ("I love Alien")
# (pattern, action): English and Chinese "did" verbs; the object follows the match.
_VERBS: list[tuple[str, str]] = [
    (r"\bshared\s+(?:some\s+|a few\s+|my\s+|many\s+|lots of\s+)?(?:photos|pictures|pics|videos|snaps)"
     r"(?:\s+(?:of|from|at|in|taken at))?\b", "visited"),
    (r"\btook\s+(?:some\s+|a few\s+|many\s+)?(?:photos|pictures|pics)\s+(?:of|at|in)\b", "visited"),
    (r"\b(?:visited|toured|went to|have been to|'ve been to|been to)\b", "visited"),
    (r"\b(?:bought|purchased|ordered|picked up|got myself|buying|purchasing|ordering)\b", "bought"),
    # "Last month I got X": got as obtained, not "got to", "got into", "got tired of", "got used to", "got rid of".
    (r"\b(?:i|we)\s+(?:just\s+|recently\s+|finally\s+|also\s+)?got\b"
     r"(?!\s+(?:to|into|tired|bored|sick|used|rid|back|lost|stuck|started|married|it|them|that|this)\b)", "bought"),
    (_SUBJ + r"(?:used to\s+)?buy\b", "bought"),
    (r"\b(?:watched|saw|seen|rewatched|binged|streamed|used to watch)\b", "watched"),
    (r"\b(?:hated|disliked|didn'?t like|did not like|couldn'?t stand|could not stand)\b", "disliked"),
    (_SUBJ + r"(?:hate|dislike)\b", "disliked"),
    (r"\b(?:loved|liked|enjoyed|adored)\b", "liked"),
    (_SUBJ + r"(?:love|like|enjoy|adore)\b" + _TITLE_OBJ, "liked"),
    (r"\b(?:finished|completed|studied|learned|learnt|enrolled in|took the|passed|read|"
     r"have been reading|'ve been reading)\b", "studied"),
    (r"\b(?:owned|i own|we own|i already have|i have an?|i've got an?)\b", "own"),
    (r"\b(?:used|have been using|'ve been using)\b(?!\s+to\b)", "used"),
    (r"分享了?(?:一些|很多|几张)?", "visited"),
    (r"去过|去了|参观了|参观过|游览了|游览过|逛了|逛过", "visited"),
    (r"买了|买过|购买了|购买过|入手了|入手过|下单了|一直在买|一直买|常买", "bought"),
    (r"看了|看过|看完了|看完|刷了|追了", "watched"),
    (r"讨厌|不喜欢|不爱看|很反感", "disliked"),
    (r"喜欢看|爱看|喜欢过|很喜欢|最喜欢|特别喜欢|非常喜欢|爱上了|喜欢(?=《)", "liked"),
    (r"学完了|学完|学了|学过|上过|上完了|完成了|读完了|读了|读过|學完了|學完|學了|學過|做完了|做完|做过|做過|练过|練過"
     r"|练习过|練習過", "studied"),
    (r"已经有了?|我有一[个台本套部]", "own"),
    (r"用过|一直在用|一直用", "used"),
]  # fmt: skip
_VERB = re.compile("|".join(f"(?P<v{i}>{p})" for i, (p, _) in enumerate(_VERBS)), re.IGNORECASE)
# Where an object ends: punctuation, a clause word, a context ("on my PC"), a time phrase, the next verb.
_END_EN = (
    # A full stop ends an object, but not the one of "St. Mungo's", "Mt. Fuji" or "0.5 mm".
    r"[,;!?:()，。；！？：]|(?<!\bst)(?<!\bmt)(?<!\bdr)(?<!\bmr)(?<!\bmrs)(?<!\bft)\.(?!\d)|"
    r"\s+(?:but|now|then|which|that|because|since|so|while|when|and then|and i|and we|"
    r"and now|yesterday|recently|earlier|before|last (?:week|month|year|night|time)|a while ago|ago|"
    r"all (?:week|day|month|year|night)|every (?:day|week)|this (?:week|month|year)|"
    r"for (?:my|our|his|her|their|a|an|the))\b|"
    r"\s+(?:in|at|from|on)\s+(?:the|a|an|my|our)\s+[\w-]+(?:\s+[\w-]+)?\s+(?:shop|store|section|department|aisle|"
    r"category|app|site|website|market)s?\b|"
    r"\s+(?:on|in|from|via|using|with|through|at)\s+(?:my|the|a|an|our|his|her)?\s*(?:"
    + _word_re(list(_CTX_WORD))
    + r")"
)
_END_ZH = (
    r"[，。；！？、：]|现在|目前|这次|接下来|但是|但|而且|而|可是|然后|所以|因为|的时候|之后|以后"
    r"|現在|這次|接下來|然後|所以|因為|的時候|之後|以後"
    r"|在(?=[^，。]{0,8}上)"
)
_END = re.compile(_END_EN + "|" + _END_ZH, re.IGNORECASE)
# A comma is a list's when the piece after it has the list's last "and": "Kelvingrove, the Burrell and St. Mungo's".
_LIST_COMMAS = frozenset(",，、")
_LIST_AND = re.compile(r"\s(?:and|as well as|plus)\s|和|与|與|及|还有|還有", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|，|、|&|\band\b|\bas well as\b|\bplus\b|和|与|跟|及|以及|还有)\s*", re.IGNORECASE)
_LEAD_EN = re.compile(
    r"^(?:(?:a lot of|lots of|lot of|a lot about|lots about|about|up on|all of|all the|a few|plenty of|a couple of|"
    r"a bunch of|a|an|the|some|many|"
    r"several|my|our|his|her|their|all|every|one|two|three|four|five|six|seven|eight|nine|ten|\d+|new|more)\s+)+",
)
_LEAD_ZH = re.compile(
    r"^(?:[一二三四五六七八九十两几\d]+[个本套部支件盒瓶张门次家座台条份款]|很多|许多|好多|一些|一点|不少|大量"
    r"|了|过|的)+"
)
_TRAIL = re.compile(r"(?:[的了过等]+|之类的?|什么的|\s+etc\.?|\s+and|\s+too|\s+as well)$", re.IGNORECASE)
_QUOTED = re.compile(r"[《“\"'「『]([^》”\"'」』]{1,80})[》”\"'」』]")
# A name in quotes is one name: 「點、線與面」 does not end at its 、 (Chinese apps quote exercise and course names).
_OPEN, _CLOSE = "《“「『", "》”」』"
_PRONOUNS = {
    "it", "them", "this", "that", "these", "those", "all of those", "all of them", "all of these", "one", "ones",
    "everything", "something", "anything", "stuff", "things", "lot", "a lot", "much", "to", "so", "there",
    "它", "它们", "这个", "那个", "这些", "那些", "这些都", "都", "东西", "很多东西",
}  # fmt: skip
_ARROW = re.compile(
    r"(?:\bfrom\s+|从)(?:my\s+|the\s+)?(?P<a>" + _word_re(list(_CTX_WORD)) + r")\s*(?:\bto\b\s+(?:my\s+|the\s+)?|"
    r"换到|转到|到|->|→)\s*(?P<b>" + _word_re(list(_CTX_WORD)) + r")"
    r"|(?P<c>" + _word_re(list(_CTX_WORD)) + r")\s*(?:->|→|=>)\s*(?P<d>" + _word_re(list(_CTX_WORD)) + r")",
    re.IGNORECASE,
)
# Verbs and words of the act of doing (not what was done): the lexical parser keeps them out of its topics.
_ACTION_TEXT = """
bought buying purchased ordered watched seen saw loved liked enjoyed adored hated disliked finished completed studied
learned learnt visited toured shared photos pictures pics videos snaps took used using owned own rewatched binged
streamed picked got
"""
ACTION_WORDS = frozenset(_ACTION_TEXT.split())


@cache
def default_scene_hints() -> dict[str, tuple[str, ...]]:
    """Built-in other words for common scene names (package data ``agent/scene_hints.yaml``)."""
    import yaml

    text = resources.files("scenebridge.agent").joinpath("scene_hints.yaml").read_text("utf-8")
    return {str(k): tuple(str(w) for w in v) for k, v in (yaml.safe_load(text) or {}).items()}


def _context_at(text: str, lo: int, hi: int) -> list[tuple[int, str]]:
    return [(m.start(), _canon(m.group(0))) for m in _CTX.finditer(text, lo, hi)]


def _want_at(statement: str) -> int:
    """Where what is wanted now begins (the statement's length when it says nothing about now)."""
    m = _WANT.search(statement)
    if m is None:
        return len(statement)
    start = m.start()
    # "... and now need", "... but I want": the conjunction belongs to the wish.
    before = re.search(r"(?:\s+(?:and|but|so)(?:\s+i)?|\s+i|而|但是?|我)\s*$", statement[:start], re.IGNORECASE)
    return before.start() if before else start


def _clean(obj: str) -> str:
    obj = obj.strip(" \t'\"“”《》「」『』")
    for _ in range(3):
        obj = _LEAD_EN.sub("", obj) if not obj.startswith("The ") else obj
        obj = _LEAD_ZH.sub("", obj)
        obj = _TRAIL.sub("", obj).strip(" '\"“”《》「」『』")
    words = obj.split()
    return " ".join(words[:8]) if len(words) > 1 else obj[:40]


def _objects(text: str) -> list[str]:
    """The things one verb's object names: quoted titles as they are, otherwise split on "and", commas, 和 ..."""
    quoted = _QUOTED.findall(text)
    parts = quoted if quoted else _SPLIT.split(text)
    out = []
    for part in parts:
        name = _clean(part)
        if name and name.lower() not in _PRONOUNS and re.search(r"[A-Za-z\d]|" + _CJK.pattern, name):
            out.append(name)
    return out


def _scene_of(text: str, hints: Mapping[str, Sequence[str]]) -> str | None:
    low = text.lower()
    found = {
        scene for scene, words in hints.items() for w in {scene, *words}
        if re.search(re.escape(w.lower()) if _CJK.search(w) else r"\b" + re.escape(w.lower()) + r"s?\b", low)
    }  # fmt: skip
    return found.pop() if len(found) == 1 else None


_SCENE_TAIL = re.compile(r"\s+(?:in|at|from)\s+\S+(?:\s+\S+)?$", re.IGNORECASE)


def _names_scene(text: str, scene: str, hints: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``text`` ends in "in/at/from <the scene or one of its words>"."""
    tail = _SCENE_TAIL.search(text)
    return tail is not None and _scene_of(tail.group(0), {scene: hints.get(scene, ())}) == scene


def _read_context(statement: str, want: int) -> SceneContext:
    arrow = _ARROW.search(statement)
    if arrow:
        a, b = (arrow.group("a"), arrow.group("b")) if arrow.group("a") else (arrow.group("c"), arrow.group("d"))
        return SceneContext(before=_canon(a), now=_canon(b))
    before = _context_at(statement, 0, want)
    now = _context_at(statement, want, len(statement))
    if not now and want < len(statement) and before:
        # "On my phone now, I want pens; I bought paints on my PC": a context in the wish's own clause is "now".
        clause = max(statement.rfind(c, 0, want) for c in ",.;!?，。；！？") + 1
        if not _VERB.search(statement, clause, want):
            now = [(p, c) for p, c in before if p >= clause]
            before = [(p, c) for p, c in before if p < clause]
    return SceneContext(before=before[-1][1] if before else None, now=now[0][1] if now else None)


def _object_end(text: str, lo: int, hi: int) -> re.Match[str] | None:
    """Where a verb's object ends: the first end after ``lo`` that is not inside an open quote (「點、線與面」 is one
    name) and not the comma of a list that goes on ("A, the B and C", "画笔、颜料和纸"); with a quote that never
    closes, the first end."""
    first, at = None, lo
    while (end := _END.search(text, at, hi)) is not None:
        first = first or end
        at = end.end()
        part = text[lo : end.start()]
        if sum(part.count(c) for c in _OPEN) > sum(part.count(c) for c in _CLOSE):
            continue
        if end.group(0) in _LIST_COMMAS and _list_goes_on(text, end.end(), hi):
            continue
        return end
    rest = text[lo:hi]
    return first if sum(rest.count(c) for c in _OPEN) > sum(rest.count(c) for c in _CLOSE) else None


def _list_goes_on(text: str, at: int, hi: int) -> bool:
    """Whether the comma just before ``at`` is a list's: the pieces after it, comma by comma, reach one with the
    list's last "and" ("A, B, C and D", "A、B、C 和 D") before any other end of the object."""
    while True:
        after = _END.search(text, at, hi)
        if _LIST_AND.search(text, at, after.start() if after else hi):
            return True
        if after is None or after.group(0) not in _LIST_COMMAS:
            return False
        at = after.end()


def _action(verb: re.Match[str]) -> str:
    """The action of a did-verb match (its group's index in ``_VERBS``)."""
    group = next(k for k, v in verb.groupdict().items() if v is not None)
    return _VERBS[int(group[1:])][1]


def _canon(word: str) -> str:
    low = word.lower()
    return _CTX_WORD.get(low) or _CTX_WORD.get(low.rstrip("s"), word)


# "thrillers like Die Hard", "something like 'Heat'", "像《霸王别姬》这样的": a title-like reference is a liked mention
# wherever it is said (the wish clause included); "more like the second one" is a refinement, not a title.
_LIKE_REF = re.compile(
    r"\b(?P<w>[A-Za-z']+)\s+(?:just\s+)?like\s+(?P<en>(?-i:[\"“'A-Z0-9])[^,.;!?]{0,80}?)(?=\s*(?:[.;!?]|,\s*(?:but|no|not|and\s+no)\b|\bbut\b|$))"
    r"|(?:像|类似)\s*(?P<zh>《[^》]{1,40}》(?:\s*(?:和|、)\s*《[^》]{1,40}》)*)",
    re.IGNORECASE,
)
_ORDINAL_REF = re.compile(r"^(?:the\s+|that\s+)?(?:first|second|third|fourth|fifth|last|\d+)", re.IGNORECASE)
_NOT_REF = {"i", "we", "you", "they", "he", "she", "would", "i'd", "we'd", "really", "also", "do", "don't", "just",
            "who", "feel", "looks", "look", "seems", "sounds"}  # fmt: skip


def _like_refs(statement: str) -> list[str]:
    """The titles a statement names as "like X" references."""
    out: list[str] = []
    for m in _LIKE_REF.finditer(statement):
        if m.group("zh"):
            out += re.findall(r"《([^》]{1,40})》", m.group("zh"))
        elif m.group("w").lower() not in _NOT_REF and not _ORDINAL_REF.match(m.group("en")):
            out += [t for t in _objects(m.group("en")) if t[:1].isupper() or t[:1].isdigit()]
    return out


def read_mentions(
    statement: str, scenes: Sequence[str] = (), scene_hints: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[Mention], SceneContext]:
    """The mentions (what they did, with what) and the context (device/platform before and now) of a statement.

    Args:
        statement: the person's words (English, Chinese or mixed).
        scenes: the catalogue's scene names; a mention whose clause names exactly one of them gets it as its scene.
        scene_hints: other words for each scene, added to the built-in ones.

    Returns:
        At most 12 mentions in the order said, and the context (canonical names such as ``PC``, ``phone``,
        ``WeChat``; ``None`` where not said).
    """
    builtin = default_scene_hints()
    hints = {s: [*(scene_hints or {}).get(s, ()), *builtin.get(s, ())] for s in scenes}
    want = _want_at(statement)
    context = _read_context(statement, want)
    did = statement[:want]
    verbs = list(_VERB.finditer(did))
    mentions: list[Mention] = []
    seen: set[str] = set()
    for n, verb in enumerate(verbs):
        action = _action(verb)
        stop = verbs[n + 1].start() if n + 1 < len(verbs) else len(did)
        end = _object_end(did, verb.end(), stop)
        span = did[verb.end() : end.start() if end else stop]
        if action == "visited" and _CJK.search(verb.group(0)) and verb.group(0).startswith("分享"):
            span = re.split(r"的(?:照片|图片|视频)", span)[0]
        clause_lo = max(did.rfind(c, 0, verb.start()) for c in ",.;!?，。；！？") + 1
        clause_hi = min([i for i in (did.find(c, verb.end()) for c in ",.;!?，。；！？") if i >= 0] or [len(did)])
        clause_hi = max(clause_hi, verb.end() + len(span))  # a list's clause runs to its last object
        where = _context_at(did, clause_lo, clause_hi)
        scene = _scene_of(did[clause_lo:clause_hi], hints) if hints else None
        for text in _objects(span):
            if scene is not None:  # "St. Mungo's Cathedral in Glasgow": the scene is the mention's scene, not its name
                text = _SCENE_TAIL.sub("", text) if _names_scene(text, scene, hints) else text
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            ctx = where[0][1] if where else context.before
            mentions.append(Mention(text=text, action=action, scene=scene, context=ctx))
    for text in _like_refs(statement):
        if text.lower() not in seen:
            seen.add(text.lower())
            mentions.append(Mention(text=text, action="liked", context=context.before))
    return mentions[:12], context


def merge_mentions(statement: str, proposed: Sequence[str | Mention], lexical: Sequence[Mention]) -> list[Mention]:
    """The lexical mentions plus those an LLM proposed that the statement grounds: said before what is wanted now
    (a phrase of the "want" clause, or one not in the statement at all, is dropped: a wrong mention hides an item).
    An LLM phrase that overlaps a lexical mention is that mention; a new one takes the action of the nearest did-verb
    before it and the context of its clause."""
    out = list(lexical)
    low = statement.lower()
    want = _want_at(statement)
    for entry in proposed:
        text = _clean(entry.text if isinstance(entry, Mention) else str(entry))
        key = text.lower()
        at = low.find(key)
        if not text or key in _PRONOUNS or at < 0 or at >= want:
            continue
        if any(key in m.text.lower() or m.text.lower() in key for m in out):
            continue
        verbs = list(_VERB.finditer(statement, 0, at))
        if not verbs:
            continue
        action = _action(verbs[-1])
        clause_lo = max(statement.rfind(c, 0, at) for c in ",.;!?，。；！？") + 1
        clause_hi = min([i for i in (statement.find(c, at) for c in ",.;!?，。；！？") if i >= 0] or [len(statement)])
        where = _context_at(statement, clause_lo, clause_hi)
        out.append(Mention(text=text, action=action, context=where[0][1] if where else None))
    return out[:12]

"""Titles for string matching: normalised titles, a title score, and a per-scene title index (rapidfuzz)."""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["CJK", "MISSING_NUMBER", "TitleIndex", "norm_title", "title_score", "tokens"]

MISSING_NUMBER = 0.5
"""The title score is multiplied by this when the title lacks a model number the mention has ("PT-1280", "fx-300ES")."""

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_YEAR = re.compile(r"\s*\((?:\d{4}|[^()]*\d{4}[^()]*)\)\s*$")
_ARTICLE_TAIL = re.compile(r"^(?P<body>.+?),\s*(?P<art>the|a|an|la|le|les|il|el|das|der|die)\b(?P<rest>.*)$", re.I)
_LEAD_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]")


def norm_title(text: str) -> str:
    """A title or mention for string matching: NFKC, lower case, "Terminator, The (1984)" -> "terminator",
    punctuation as spaces, no leading article."""
    low = unicodedata.normalize("NFKC", text).strip().lower()
    low = _YEAR.sub("", low)
    tail = _ARTICLE_TAIL.match(low)
    if tail:
        low = f"{tail.group('art')} {tail.group('body')}{tail.group('rest')}"
    low = re.sub(r"[^\w\s]|_", " ", low)
    return _LEAD_ARTICLE.sub("", " ".join(low.split()))


def tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def title_score(query: str, title: str) -> float:
    """0..1: plain edit similarity and token-set similarity, averaged (both normalised strings). The token-set part
    rewards a mention that names a product by some of its title's words; the plain part prefers the exact title
    ("alien" -> "Alien (1979)" over "Alien 3"). A model number of the mention missing from the title costs
    :data:`MISSING_NUMBER`."""
    from rapidfuzz import fuzz

    score = (fuzz.ratio(query, title) + fuzz.token_set_ratio(query, title)) / 200.0
    numbers = {t for t in tokens(query) if any(c.isdigit() for c in t)}
    if numbers and not numbers <= set(tokens(title)):
        score *= MISSING_NUMBER
    return score


class TitleIndex:
    """One scene's titles, normalised, with an inverted token index: a query is scored against the titles that
    share a word with it (rarest words first), not against all of them (18.6k titles: rapidfuzz over all took
    ~0.4 s per query here, the index a few milliseconds)."""

    def __init__(self, pairs: Iterable[tuple[str, str]], shortlist: int = 60) -> None:
        self.ids: list[str] = []
        self.titles: list[str] = []
        self.raw: list[str] = []
        postings: dict[str, list[int]] = {}
        for item_id, title in pairs:
            norm = norm_title(title)
            if not norm:
                continue
            row = len(self.ids)
            self.ids.append(item_id)
            self.titles.append(norm)
            self.raw.append(title)
            for tok in set(tokens(norm)):
                postings.setdefault(tok, []).append(row)
        self._postings = postings
        self._idf = {t: math.log(1 + len(self.ids) / len(rows)) for t, rows in postings.items()}
        self.shortlist = shortlist

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, query: str, limit: int = 5) -> list[tuple[int, float]]:
        """The best rows for a mention (normalised by :func:`norm_title`), as ``(row, title score)``."""
        weight: dict[int, float] = defaultdict(float)
        for tok in set(tokens(query)):
            for row in self._postings.get(tok, ()):
                weight[row] += self._idf[tok]
        rows = heapq.nlargest(self.shortlist, weight, key=weight.__getitem__)
        scored = [(row, title_score(query, self.titles[row])) for row in rows]
        return sorted(scored, key=lambda p: -p[1])[:limit]

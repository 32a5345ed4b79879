"""Titles for string matching: normalised titles, a title score, and a per-scene title index (rapidfuzz)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

__all__ = ["CJK", "MISSING_NUMBER", "TitleIndex", "norm_title", "title_key", "title_score", "tokens"]

MISSING_NUMBER = 0.5
"""The title score is multiplied by this when the title lacks a model number the mention has ("PT-1280", "fx-300ES")."""

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_YEAR = re.compile(r"\s*\((?:\d{4}|[^()]*\d{4}[^()]*)\)\s*$")
_ARTICLE_TAIL = re.compile(r"^(?P<body>.+?),\s*(?P<art>the|a|an|la|le|les|il|el|das|der|die)\b(?P<rest>.*)$", re.I)
_LEAD_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]")


@lru_cache(maxsize=1 << 16)
def norm_title(text: str) -> str:
    """A title or mention for string matching: NFKC, lower case, "Terminator, The (1984)" -> "terminator",
    punctuation as spaces, no leading article. Remembered: a mention's candidates are the same few titles again."""
    low = unicodedata.normalize("NFKC", text).strip().lower()
    low = _YEAR.sub("", low)
    tail = _ARTICLE_TAIL.match(low)
    if tail:
        low = f"{tail.group('art')} {tail.group('body')}{tail.group('rest')}"
    low = re.sub(r"[^\w\s]|_", " ", low)
    return _LEAD_ARTICLE.sub("", " ".join(low.split()))


def title_key(title: str) -> str:
    """What makes two catalogue titles the very same one: case and spacing aside, the year and words kept."""
    return " ".join(title.lower().split())


def tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def title_score(query: str, title: str) -> float:
    """0..1: plain edit similarity and token-set similarity, averaged (both normalised strings). The token-set part
    rewards a mention that names a product by some of its title's words; the plain part prefers the exact title
    ("alien" -> "Alien (1979)" over "Alien 3"). A model number of the mention missing from the title costs
    :data:`MISSING_NUMBER`."""
    return _score(query, title, _numbers(query))


@lru_cache(maxsize=1 << 12)
def _numbers(query: str) -> frozenset[str]:
    """The mention's model numbers (tokens with a digit)."""
    return frozenset(t for t in tokens(query) if any(c.isdigit() for c in t))


def _score(query: str, title: str, numbers: frozenset[str]) -> float:
    from rapidfuzz import fuzz

    score = (fuzz.ratio(query, title) + fuzz.token_set_ratio(query, title)) / 200.0
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
        same: dict[str, list[str]] = {}
        for item_id, title in pairs:
            norm = norm_title(title)
            if not norm:
                continue
            row = len(self.ids)
            self.ids.append(item_id)
            self.titles.append(norm)
            self.raw.append(title)
            same.setdefault(title_key(title), []).append(item_id)
            for tok in set(tokens(norm)):
                postings.setdefault(tok, []).append(row)
        self._twins = {i: tuple(g) for g in same.values() if len(g) > 1 for i in g}
        # Arrays: a common word ("paper") has thousands of titles, added up in one step rather than row by row.
        self._postings = {t: np.asarray(rows, dtype=np.int64) for t, rows in postings.items()}
        self._idf = {t: math.log(1 + len(self.ids) / len(rows)) for t, rows in postings.items()}
        self.shortlist = shortlist

    def __len__(self) -> int:
        return len(self.ids)

    def twins(self, item_ids: Iterable[str]) -> set[str]:
        """The other items with the very title (:func:`title_key`) of one of ``item_ids``: a catalogue's duplicate
        entries of one thing, such as MovieLens's two ids of "Body Snatchers (1993)"."""
        return {t for i in item_ids for t in self._twins.get(i, ()) if t != i}

    def match(self, query: str, limit: int = 5) -> list[tuple[int, float]]:
        """The best rows for a mention (normalised by :func:`norm_title`), as ``(row, title score)``."""
        weight = np.zeros(len(self.ids))
        # Sorted words: the sums, and so the ties at the shortlist's cut, do not depend on the process's hash seed.
        for tok in sorted(set(tokens(query))):
            rows = self._postings.get(tok)
            if rows is not None:
                weight[rows] += self._idf[tok]
        touched = np.flatnonzero(weight)  # every idf is > 0: the titles sharing a word with the query
        rows = touched[np.argsort(-weight[touched], kind="stable")[: self.shortlist]].tolist()
        numbers = _numbers(query)  # once per mention, not once per title
        scored = [(row, _score(query, self.titles[row], numbers)) for row in rows]
        return sorted(scored, key=lambda p: -p[1])[:limit]

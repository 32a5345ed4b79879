"""Stated exclusions ("不要打印机墨盒", "no printer ink") as a filter over catalogue items.

The catalogue is English, people are not: each exclusion becomes English word sets — its own English words, and
the alternatives of every glossary key it contains (package data ``agent/exclusion_glossary.yaml``, longest Chinese
key first). An item is excluded when all words of one set occur in its title or category.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

__all__ = ["ExclusionFilter", "glossary", "item_words"]

_LATIN = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_STOP = {"a", "an", "the", "any", "more", "of", "for", "with", "and", "or", "to", "in", "on", "some", "no", "not",
         "please", "thing", "stuff", "item", "product", "one", "kind", "type"}  # fmt: skip


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def item_words(text: str) -> frozenset[str]:
    """Stemmed lower-case English words of a text."""
    return frozenset(_stem(w) for w in _LATIN.findall(text.lower()))


def _phrase_words(text: str) -> frozenset[str]:
    return frozenset(w for w in item_words(text) if w not in _STOP)


@cache
def glossary() -> dict[str, tuple[str, ...]]:
    """Exclusion words (Chinese, and English phrases with wider meaning) -> English alternatives."""
    import yaml

    text = resources.files("scenebridge.agent").joinpath("exclusion_glossary.yaml").read_text("utf-8")
    return {str(k).lower(): tuple(str(a) for a in v) for k, v in (yaml.safe_load(text) or {}).items()}


def _alternatives(phrase: str) -> list[frozenset[str]]:
    low = phrase.lower().strip()
    alts: list[frozenset[str]] = []
    own = _phrase_words(low)
    if own:
        alts.append(own)
    masked = low
    for key in sorted(glossary(), key=len, reverse=True):
        if _CJK.search(key):
            if key in masked:
                masked = masked.replace(key, " ")
                alts.extend(_phrase_words(a) for a in glossary()[key])
        elif re.search(rf"\b{re.escape(key)}s?\b", low):
            alts.extend(_phrase_words(a) for a in glossary()[key])
    return [a for a in dict.fromkeys(alts) if a]


@dataclass
class ExclusionFilter:
    """Which items an exclusion list rules out.

    Attributes:
        exclusions: the stated phrases.
        rules: phrase -> English word sets (any set fully present in an item's words excludes it).
        unmatched: phrases that gave no English words (nothing can be filtered for them lexically).
    """

    exclusions: list[str]
    rules: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    _vocab: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def build(cls, exclusions: Sequence[str]) -> ExclusionFilter:
        """Compiles the phrases once per turn."""
        out = cls(list(exclusions))
        for phrase in exclusions:
            alts = _alternatives(phrase)
            if alts:
                out.rules[phrase] = alts
                # Surface forms that can stem to a rule word: an item without any of them cannot match.
                for word in {w for alt in alts for w in alt}:
                    out._vocab |= {word, word + "s", word + "es", word[:-1] + "ies" if word.endswith("y") else word}
            else:
                out.unmatched.append(phrase)
        return out

    def match(self, title: str, category: str = "") -> str | None:
        """The exclusion phrase an item falls under, or None."""
        if not self.rules:
            return None
        words = set(_LATIN.findall(f"{title} {category}".lower()))
        if not words & self._vocab:
            return None
        stemmed = {_stem(w) for w in words}
        for phrase, alts in self.rules.items():
            if any(alt <= stemmed for alt in alts):
                return phrase
        return None

"""Stated exclusions ("不要打印机墨盒", "no printer ink") as a filter over catalogue items.

The catalogue is English, people are not: each exclusion becomes English word sets — its own English words, and
the alternatives of every glossary key it contains (package data ``agent/exclusion_glossary.yaml``, longest Chinese
key first). An item is excluded when all words of one set occur in its title or category. A phrase neither gives
(a Chinese word the glossary lacks, such as "动画片") is read by a :class:`SemanticGlossary`, when the turn has one:
the catalogue's own category word nearest to it in a multilingual embedding, if that word is clearly the nearest.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["ExclusionFilter", "SemanticGlossary", "glossary", "item_words"]

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


@lru_cache(maxsize=4096)
def _item_words(title: str, category: str) -> tuple[frozenset[str], frozenset[str]]:
    """An item's words and their stems, kept: reading the words of ~150 long category paths was most of a turn's
    exclusion matching (1.04 -> 0.30 ms p50 of an office turn's, `bench turn --history`)."""
    words = frozenset(_LATIN.findall(f"{title} {category}".lower()))
    return words, frozenset(_stem(w) for w in words)


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
        unmatched: phrases that gave no English words (nothing can be filtered for them).
        resolved: phrases read by the semantic fallback -> the catalogue word they were read as.
    """

    exclusions: list[str]
    rules: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    resolved: dict[str, str] = field(default_factory=dict)
    _vocab: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def build(cls, exclusions: Sequence[str], resolve: Callable[[str], str | None] | None = None) -> ExclusionFilter:
        """Compiles the phrases once per turn.

        Args:
            exclusions: the stated phrases.
            resolve: reads a phrase that gives no English words as one catalogue word, or None (e.g.
                :meth:`SemanticGlossary.resolver`).
        """
        out = cls(list(exclusions))
        for phrase in exclusions:
            alts = _alternatives(phrase)
            word = resolve(phrase) if not alts and resolve is not None else None
            if word:
                alts = [_phrase_words(word)]
                out.resolved[phrase] = word
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
        words, stemmed = _item_words(title, category)
        if not words & self._vocab:
            return None
        for phrase, alts in self.rules.items():
            if any(alt <= stemmed for alt in alts):
                return phrase
        return None


_WORD = re.compile(r"^[a-z][a-z-]{2,}$")


class SemanticGlossary:
    """Reads exclusions the glossary lacks as the catalogue's own category words, by embedding similarity.

    Each scene's vocabulary is the words of its item categories used by at least ``min_items`` items, one form per
    stem (embedded once, on the first exclusion that needs it). A phrase is read as the nearest word when its cosine
    is at least ``min_cos`` and beats every other word by ``margin``; otherwise it stays unmatched and the turn says
    so, because a wrong reading hides good items. On USE with the quick-start and Amazon catalogues: "动画片" ->
    animation (0.74, next 0.52), "儿童片" -> children, "恐怖片" -> horror, "电池" -> battery, "文件夹" -> folder,
    "计算器" -> calculator; left alone: "纪录片" (nearest "film-noir", 0.62: that scene has no documentaries),
    "便利贴" ("convenient" 0.67, "useful" 0.59), "蜡笔" ("pencils" 0.69).

    Args:
        embedder: a multilingual embedder (``embed(texts) -> unit vectors``).
        categories: ``categories(scene) -> Counter`` of category strings (``ItemStore.categories``).
    """

    def __init__(
        self,
        embedder: Any,
        categories: Callable[[str], Counter[str]],
        min_cos: float = 0.65,
        margin: float = 0.1,
        min_items: int = 2,
    ) -> None:
        self.embedder = embedder
        self.categories = categories
        self.min_cos = min_cos
        self.margin = margin
        self.min_items = min_items
        self._scenes: dict[str, tuple[list[str], np.ndarray]] = {}
        self._lock = threading.Lock()

    def vocabulary(self, scene: str) -> tuple[list[str], np.ndarray]:
        """The scene's category words and their vectors."""
        with self._lock:
            if scene not in self._scenes:
                counts: Counter[str] = Counter()
                for category, n in self.categories(scene).items():
                    for word in set(re.findall(r"[a-z][a-z-]+", category.lower())):
                        counts[word] += n
                # One surface form per stem (the most used): "folder" and "folders" must not split the margin.
                forms: dict[str, tuple[int, str]] = {}
                for w, n in counts.items():
                    if n >= self.min_items and _WORD.match(w) and w not in _STOP:
                        forms[_stem(w)] = max(forms.get(_stem(w), (0, w)), (n, w))
                words = sorted(w for _, w in forms.values())
                vecs = np.asarray(self.embedder.embed(words), dtype=np.float32) if words else np.zeros((0, 1))
                self._scenes[scene] = (words, vecs)
            return self._scenes[scene]

    def read(self, phrase: str, scene: str) -> str | None:
        """The catalogue word a phrase means, or None when no word is clearly nearest."""
        words, vecs = self.vocabulary(scene)
        if not words:
            return None
        sims = vecs @ np.asarray(self.embedder.embed([phrase])[0], dtype=np.float32)
        order = np.argsort(-sims)
        best = float(sims[order[0]])
        runner_up = float(sims[order[1]]) if len(order) > 1 else -1.0
        if best < self.min_cos or best - runner_up < self.margin:
            return None
        return words[int(order[0])]

    def resolver(self, scene: str) -> Callable[[str], str | None]:
        """``read`` bound to one scene, for :meth:`ExclusionFilter.build`."""
        return lambda phrase: self.read(phrase, scene)

"""The simulated person of ``bench conversation``: what a dataset user says about their own items, and how they
critique an answer toward the one item they are after.

The person is honest: the opening names 2-4 of their *visible* source-scene items in loose words (the title's main
noun phrase, never the full title) and the target scene; a critique uses the target's category words and a title
word or two ("closer to hanging folders, ideally letter", "not pens"), never its title. Chinese people speak Chinese
templates with the English product words inside them: without a model there is no honest way to translate titles.

These sentences are benchmark *inputs* (what a user types), not wording the product shows, so they live here and not
in ``prompts/wording.yaml``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from scenebridge.agent.exclusions import ExclusionFilter
from scenebridge.agent.lexical import default_scene_hints
from scenebridge.agent.titles import title_key
from scenebridge.data.preprocess import normalize_text

__all__ = ["Catalogue", "ItemWords", "Person"]

GENERIC_SHARE = 0.2  # a category word on more than this share of a scene's items says nothing ("office products")
PATH_SUPPORT = 5  # a category prefix shared by this many items is the path; what follows it is a brand
BRAND_WORDS = 3  # a brand is at most this many words (a rarer path keeps its own last words)
MIN_TITLE_DF = 3  # a title word in fewer titles of its scene is a model number or a typo, not a word people say
_UNITS = {"inch", "inches", "pack", "packs", "count", "set", "sets", "size", "sizes", "piece", "pieces", "pcs",
          "ounce", "ounces", "oz", "yard", "yards", "foot", "feet", "sheet", "sheets", "color", "colors", "assorted",
          "per", "box", "with", "for", "and", "the", "new", "pkg", "lot", "quantity", "mm", "cm", "ml"}  # fmt: skip

_OPEN_EN = (
    "I bought {items} on my PC, now I'm looking for {target} on my phone",
    "Last month I got {items}. Now I need some {target}.",
    "I've been using {items} for my {source} projects; now show me {target}",
    "I recently ordered {items}; what {target} would you recommend now?",
    "Over the past year I picked up {items} on my laptop. Now I want {target}.",
)
_OPEN_ZH = (
    "我之前在电脑上买过 {items}，现在想在手机上买点{target}",
    "最近买了 {items}，现在想找一些{target}",
    "我平时用 {items} 做{source}，现在需要{target}，推荐一下",
    "上个月买了 {items}，现在想看看{target}",
)
_CLOSER_EN = ("closer to {c}", "more like {c}", "I'm after {c}", "something closer to {c}")
_TITLE_EN = ("ideally {t}", "with {t}")
_NOT_EN = ("not {n}", "no {n}")
_CLOSER_ZH = ("更接近 {c} 一点", "我想要的是 {c} 那种", "再往 {c} 靠一点", "要 {c} 类的")
_TITLE_ZH = ("最好是 {t} 的", "带 {t} 的")
_NOT_ZH = ("不要 {n}", "别推荐 {n}")


@dataclass(frozen=True)
class ItemWords:
    """How a person would speak of one item.

    Attributes:
        item_id: the catalogue item.
        title: its catalogue title.
        category: its catalogue category text.
        phrase: the title's main noun phrase (2-3 words), the loose name a person uses.
        specific: the category's specific words, most specific last (generic words and the brand dropped).
        distinctive: title words a person could name, most specific first (not in ``specific``, no brand, no
            numbers).
    """

    item_id: str
    title: str
    category: str
    phrase: str
    specific: tuple[str, ...]
    distinctive: tuple[str, ...]


class Catalogue:
    """Word statistics of each scene of a catalogue (generic category words, category paths, title word counts)."""

    def __init__(self, items: pd.DataFrame) -> None:
        self._rows = {str(r.item_id): (str(r.scene), str(r.title), str(r.category)) for r in items.itertuples()}
        self._generic: dict[str, set[str]] = {}
        self._prefixes: Counter[tuple[str, ...]] = Counter()
        self._title_df: dict[str, Counter[str]] = {}
        for scene, group in items.groupby("scene"):
            cats = [str(c).split() for c in group["category"]]
            share = Counter(t for c in cats for t in set(c))
            self._generic[str(scene)] = {t for t, n in share.items() if n > GENERIC_SHARE * len(cats)}
            for c in cats:
                self._prefixes.update(tuple(c[:n]) for n in range(1, len(c) + 1))
            self._title_df[str(scene)] = Counter(t for title in group["title"] for t in set(str(title).split()))
        self._cache: dict[str, ItemWords] = {}
        self._same: dict[tuple[str, str], set[str]] = {}
        for item_id, (scene, title, _) in self._rows.items():
            self._same.setdefault((scene, title_key(title)), set()).add(item_id)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._rows

    def same_title(self, item_id: str) -> set[str]:
        """The item and the scene's other entries of its very title (:func:`~scenebridge.agent.titles.title_key`):
        showing any of them shows the person that thing (the agent shows one of them)."""
        scene, title, _ = self._rows[item_id]
        return self._same[(scene, title_key(title))]

    def scene(self, item_id: str) -> str:
        """The item's scene."""
        return self._rows[item_id][0]

    def generic(self, scene: str) -> set[str]:
        """Category words too common in the scene to tell items apart."""
        return self._generic.get(scene, set())

    def words(self, item_id: str) -> ItemWords:
        """How a person speaks of this item (computed once)."""
        if item_id not in self._cache:
            self._cache[item_id] = self._words(item_id)
        return self._cache[item_id]

    def _words(self, item_id: str) -> ItemWords:
        scene, title, category = self._rows[item_id]
        cat = category.split()
        path = cat
        # The longest prefix other items share, cutting at most BRAND_WORDS words: the rest names the brand.
        for n in range(len(cat), max(len(cat) - BRAND_WORDS, 1) - 1, -1):
            if self._prefixes[tuple(cat[:n])] >= PATH_SUPPORT:
                path = cat[:n]
                break
        words = title.split()
        brand = set(cat[len(path) :]) | set(words[:1])  # titles lead with the brand ...
        for m in range(2, BRAND_WORDS + 1):  # ... which also ends the category ("... planners at glance")
            if cat[-m:] == words[:m]:
                brand.update(words[:m])
        # Only words a person says: "3 ring binders" is "ring binders" (and a number would read as "the 3rd one").
        said = [t for t in path if t.isalpha() and t not in self._generic[scene] and t not in brand]
        specific = _unique_tail(said, 4)
        df = self._title_df[scene]
        content = [w for w in words if _speakable(w) and w not in brand]
        near = {_stem(t) for t in cat}
        distinct = sorted({w for w in content if _stem(w) not in near and df[w] >= MIN_TITLE_DF},
                          key=lambda w: (df[w], w))  # fmt: skip
        return ItemWords(item_id, title, category, _phrase(content, near) or " ".join(words[:3]), tuple(specific),
                         tuple(distinct))  # fmt: skip


def _speakable(word: str) -> bool:
    return word.isalpha() and len(word) >= 3 and word not in _UNITS and bool(normalize_text(word))


def _stem(word: str) -> str:
    """A crude stem so that "pen" and "pens", "organizer" and "organizers" count as one word."""
    return word[:5] if len(word) > 5 else word.rstrip("s")


def _unique_tail(tokens: Sequence[str], n: int) -> list[str]:
    """The last ``n`` distinct tokens, in their order (category paths repeat words: "folders hanging folders")."""
    out: list[str] = []
    for t in reversed(tokens):
        if t not in out:
            out.append(t)
        if len(out) == n:
            break
    return out[::-1]


def _phrase(content: Sequence[str], category_stems: set[str]) -> str:
    """The 2-3 word window of the title that shares most words with its category: its main noun phrase."""
    best, best_score = "", 0.0
    for size in (3, 2):
        for i in range(len(content) - size + 1):
            window = content[i : i + size]
            # English puts the head noun last: a window ending in a category word is the better name.
            score = sum(_stem(w) in category_stems for w in window) + 0.5 * (_stem(window[-1]) in category_stems)
            if score > best_score:
                best, best_score = " ".join(window), score
    return best or " ".join(content[:2])


class Person:
    """One simulated person: a dataset user, their visible source items, the hidden target item and a language.

    Args:
        user_id: the dataset user (the recommender never sees it).
        history: their visible source-scene items, oldest first.
        target: the hidden target-scene item they are after.
        source: the source scene.
        scene: the target scene.
        language: ``en`` or ``zh``.
        catalogue: word statistics of the catalogue.
        rng: this person's random choices (templates, how many items they name).
    """

    def __init__(self, user_id: str, history: Sequence[str], target: str, source: str, scene: str, language: str,
                 catalogue: Catalogue, rng: random.Random) -> None:  # fmt: skip
        self.user_id, self.target, self.source, self.scene, self.language = user_id, target, source, scene, language
        self.history = [i for i in history if i in catalogue]
        self._cat, self._rng = catalogue, rng
        self._said_not: list[str] = []
        names: list[str] = []
        self.mentioned: list[str] = []
        want = rng.randint(2, 4)
        for item in reversed(self.history):  # the most recent items come to mind first
            phrase = catalogue.words(item).phrase
            if phrase and phrase not in names:
                names.append(phrase)
                self.mentioned.append(item)
            if len(names) == want:
                break
        self._names = names

    @cached_property
    def goal(self) -> ItemWords:
        """The target item as the person thinks of it."""
        return self._cat.words(self.target)

    def opening(self) -> str:
        """The first statement: 2-4 of their source items in loose words, and the target scene."""
        zh = self.language == "zh"
        items = _join(self._names, zh)
        template = self._rng.choice(_OPEN_ZH if zh else _OPEN_EN)
        return template.format(items=items, target=_scene_words(self.scene, zh), source=_scene_words(self.source, zh))

    def critique(self, turn: int, shown: Sequence[str]) -> str:
        """What the person says after answer ``turn - 1`` missed: closer to the target's category words (and, from
        turn 3, a title word or two), not a category word of the shown items that the target does not have.

        Args:
            turn: the number of the turn this critique opens (2..).
            shown: the item ids the last answer showed.
        """
        zh = self.language == "zh"
        goal = self.goal
        closer = " ".join(goal.specific[-(2 if turn == 2 else 3) :]) or goal.phrase
        titled = " ".join(goal.distinctive[: 0 if turn == 2 else 1 if turn == 3 else 2])
        parts = [self._rng.choice(_CLOSER_ZH if zh else _CLOSER_EN).format(c=closer)]
        if titled:
            parts.append(self._rng.choice(_TITLE_ZH if zh else _TITLE_EN).format(t=titled))
        avoid = self._not_word(shown)
        if avoid:
            self._said_not.append(avoid)
            parts.append(self._rng.choice(_NOT_ZH if zh else _NOT_EN).format(n=avoid))
        return ("，" if zh else ", ").join(parts)

    def _not_word(self, shown: Sequence[str]) -> str | None:
        """The most common specific category word of the shown items that the target lacks (never one that would
        rule the target out)."""
        goal = self.goal
        own = {_stem(w) for w in (*goal.title.split(), *goal.category.split())}
        counts: Counter[str] = Counter()
        for item in shown:
            if item in self._cat:
                specific = self._cat.words(item).specific
                # In the words' order, not a set's: ties in most_common() must not follow the hash seed.
                counts.update(w for w in dict.fromkeys(specific) if _speakable(w) and _stem(w) not in own)
        for word, _ in counts.most_common():
            if word in self._said_not or word in self._cat.generic(self.scene):
                continue
            if not ExclusionFilter.build([word]).match(goal.title, goal.category):
                return word
        return None


def _join(names: Sequence[str], zh: bool) -> str:
    if len(names) == 1:
        return names[0]
    if zh:
        return "、".join(names[:-1]) + " 和 " + names[-1]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _scene_words(scene: str, zh: bool) -> str:
    """How a person names a scene: its first English hint word (its longest Chinese one: "办公用品", not "办公"),
    else the scene's own name."""
    hints = [w for w in default_scene_hints().get(scene, ()) if any("\u4e00" <= ch <= "\u9fff" for ch in w) == zh]
    if not hints:
        return scene
    return max(hints, key=len) if zh else hints[0]

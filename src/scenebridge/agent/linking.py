"""Links what a person says they did ("I loved Alien") to catalogue items, each with a confidence in 0..1.

Two sides, combined: the store's multilingual embedding (the mention's neighbours in the mentioned scene, else the
source scenes, else every scene but the target) and the title (rapidfuzz over a per-scene title index, every scene,
the target included: films someone has seen are often in the scene they want now, and must not come back). A
mention and a title in different scripts ("异形" / "Alien (1979)") are compared by the embedding alone.
The weights and the threshold were chosen on ``benchmarks/link_labels.yaml`` (``benchmarks/link_eval.py``).
"""

from __future__ import annotations

import heapq
import math
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scenebridge.agent.state import LinkedItem
from scenebridge.agent.summary import Mention
from scenebridge.agent.wording import note

if TYPE_CHECKING:
    from scenebridge.store.chroma import ItemStore

__all__ = [
    "EXACT",
    "MISSING_NUMBER",
    "THRESHOLD",
    "TITLE_WEIGHT",
    "Candidate",
    "Linker",
    "MentionLink",
    "TitleIndex",
    "link_notes",
    "norm_title",
]

# Chosen on benchmarks/link_labels.yaml (65 mentions, 49 with a right item) by a grid over the title weight
# (0.2-0.8), the cosine range and the threshold (0.4-0.85), best F0.5: thresholds 0.5 and 0.55 gave the same links;
# the higher one is kept. With these: precision 100 % (39/39), recall 79.6 % (39/49; English 39/39, Chinese names of
# English-titled items 0/10, none linked wrongly), chosen on the labels it is scored on: an optimistic figure.
THRESHOLD = 0.55
TITLE_WEIGHT = 0.8
EXACT = 0.9
"""The confidence of a title equal to the mention once normalised ("The Terminator" / "Terminator, The (1984)")."""
MISSING_NUMBER = 0.5
"""The title score is multiplied by this when the title lacks a model number the mention has ("PT-1280", "fx-300ES")."""
COS_LO, COS_HI = 0.4, 0.9
"""Cosines are mapped linearly from [COS_LO, COS_HI] to [0, 1] (USE: unrelated short texts sit near 0.2-0.35)."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
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


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def title_score(query: str, title: str) -> float:
    """0..1: plain edit similarity and token-set similarity, averaged (both normalised strings). The token-set part
    rewards a mention that names a product by some of its title's words; the plain part prefers the exact title
    ("alien" -> "Alien (1979)" over "Alien 3"). A model number of the mention missing from the title costs
    :data:`MISSING_NUMBER`."""
    from rapidfuzz import fuzz

    score = (fuzz.ratio(query, title) + fuzz.token_set_ratio(query, title)) / 200.0
    numbers = {t for t in _tokens(query) if any(c.isdigit() for c in t)}
    if numbers and not numbers <= set(_tokens(title)):
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
            for tok in set(_tokens(norm)):
                postings.setdefault(tok, []).append(row)
        self._postings = postings
        self._idf = {t: math.log(1 + len(self.ids) / len(rows)) for t, rows in postings.items()}
        self.shortlist = shortlist

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, query: str, limit: int = 5) -> list[tuple[int, float]]:
        """The best rows for a mention (normalised by :func:`norm_title`), as ``(row, title score)``."""
        weight: dict[int, float] = defaultdict(float)
        for tok in set(_tokens(query)):
            for row in self._postings.get(tok, ()):
                weight[row] += self._idf[tok]
        rows = heapq.nlargest(self.shortlist, weight, key=weight.__getitem__)
        scored = [(row, title_score(query, self.titles[row])) for row in rows]
        return sorted(scored, key=lambda p: -p[1])[:limit]


@dataclass(frozen=True)
class Candidate:
    """An item a mention may mean, with the cosine between their vectors."""

    item_id: str
    scene: str
    title: str
    cosine: float


@dataclass(frozen=True)
class MentionLink:
    """What one mention was linked to.

    Attributes:
        mention: the mention.
        item: the linked item, or ``None`` when no candidate reached the threshold.
        confidence: the best candidate's confidence (below the threshold when ``item`` is ``None``).
        best_title: the best candidate's title, linked or not (for traces and tests).
    """

    mention: Mention
    item: LinkedItem | None
    confidence: float
    best_title: str | None = None


def _store_titles(store: ItemStore, scene: str) -> list[tuple[str, str]]:
    """All ``(item_id, title)`` of a scene, through the store's public API (``titles`` when it has one)."""
    titles = getattr(store, "titles", None)
    if callable(titles):
        return list(titles(scene))
    ids, _ = store.vectors(scene)
    hits, _ = store.get_items(ids, [scene])
    return [(h.item_id, h.title) for h in hits]


class Linker:
    """Links mentions to catalogue items of one store.

    Args:
        store: the item store (its embedder embeds the mentions).
        threshold: the least confidence that links; below it the mention is reported as not linked.
        title_weight: the share of the title side in the confidence (the embedding side has the rest).
        k: embedding neighbours per mention, and title matches per scene.
        max_titles: scenes with more items are matched by embedding alone (no title index in memory).
        titles: ``titles(scene) -> [(item_id, title), ...]``; by default read from the store once per scene.
        cos_range: cosines mapped linearly onto 0..1 for the embedding side.
    """

    def __init__(
        self,
        store: ItemStore,
        *,
        threshold: float = THRESHOLD,
        title_weight: float = TITLE_WEIGHT,
        k: int = 10,
        max_titles: int = 200_000,
        titles: Callable[[str], Iterable[tuple[str, str]]] | None = None,
        cos_range: tuple[float, float] = (COS_LO, COS_HI),
    ) -> None:
        self.store = store
        self.threshold = threshold
        self.title_weight = title_weight
        self.cos_range = cos_range
        self.k = k
        self.max_titles = max_titles
        self._load = titles or (lambda scene: _store_titles(store, scene))
        self._indexes: dict[str, TitleIndex | None] = {}
        self._lock = threading.Lock()

    def index(self, scene: str) -> TitleIndex | None:
        """The scene's title index, built on first use (``None`` for a scene over ``max_titles`` items)."""
        with self._lock:
            if scene not in self._indexes:
                big = self.store.count(scene) > self.max_titles
                self._indexes[scene] = None if big else TitleIndex(self._load(scene))
            return self._indexes[scene]

    def warm(self, scenes: Sequence[str] | None = None) -> None:
        """Builds the title indexes now (e.g. when a server starts) rather than on the first mention."""
        for scene in scenes or self.store.scenes:
            self.index(scene)

    def _search_scenes(self, mention: Mention, target: str | None, sources: Sequence[str]) -> list[str]:
        known = self.store.scenes
        if mention.scene is not None and mention.scene in known:
            return [mention.scene]
        given = [s for s in sources if s in known and s != target]
        if given:
            return given
        others = [s for s in known if s != target]
        return others or known

    def confidence(self, mention: str, title: str, cosine: float) -> tuple[float, float]:
        """The confidence of one candidate and its title score (0 when the scripts differ)."""
        lo, hi = self.cos_range
        emb = min(1.0, max(0.0, (cosine - lo) / (hi - lo)))
        if bool(_CJK.search(mention)) != bool(_CJK.search(title)):
            return emb, 0.0  # "异形" and "Alien (1979)" share no characters: the embedding alone decides
        query, name = norm_title(mention), norm_title(title)
        tscore = title_score(query, name)
        conf = self.title_weight * tscore + (1.0 - self.title_weight) * emb
        return (max(conf, EXACT) if query == name else conf), tscore

    def link(
        self, mentions: Sequence[Mention], *, target: str | None = None, source_scenes: Sequence[str] = ()
    ) -> list[MentionLink]:
        """Links each mention to its best catalogue item, if any is confident enough.

        Args:
            mentions: what the person said they did.
            target: the scene they want recommendations in now (searched by title only, unless a mention names it).
            source_scenes: scenes they said they came from (searched by embedding when a mention names no scene).

        Returns:
            One :class:`MentionLink` per mention, in order.
        """
        if not mentions:
            return []
        vectors = self.store.embedder.embed([m.text for m in mentions])
        return [self._link_one(m, vec, target, source_scenes) for m, vec in zip(mentions, vectors, strict=True)]

    def candidates(
        self, mention: Mention, vec: np.ndarray, target: str | None = None, source_scenes: Sequence[str] = ()
    ) -> list[Candidate]:
        """The items one mention may mean: its embedding neighbours and its title matches, each with its cosine."""
        cands: dict[str, tuple[str, str, float | None]] = {}
        query = norm_title(mention.text)
        exact = False
        for scene in self.store.scenes:
            index = self.index(scene)
            if index is None or not query:
                continue
            for row, _ in index.match(query, limit=self.k):
                cands[index.ids[row]] = (scene, index.raw[row], None)
                exact = exact or index.titles[row] == query
        if not exact:  # an exact title wins anyway (EXACT): the neighbour search (~15 ms a scene) is not needed
            for hit in self.store.search(vec, scenes=self._search_scenes(mention, target, source_scenes), k=self.k):
                cands[hit.item_id] = (hit.scene, hit.title, hit.score)
        missing: dict[str, list[str]] = {}
        for iid, (scene, _, cos) in cands.items():
            if cos is None:
                missing.setdefault(scene, []).append(iid)
        for scene, ids in missing.items():  # title matches that are not neighbours: their cosine from their vectors
            hits, vecs = self.store.get_items(ids, [scene])
            for hit, row in zip(hits, vecs, strict=True):
                cands[hit.item_id] = (scene, cands[hit.item_id][1], float(row @ vec))
        return [Candidate(i, sc, t, c) for i, (sc, t, c) in cands.items() if c is not None]

    def _link_one(self, mention: Mention, vec: np.ndarray, target: str | None, sources: Sequence[str]) -> MentionLink:
        best: tuple[float, str, str, str] | None = None
        for cand in self.candidates(mention, vec, target, sources):
            conf, _ = self.confidence(mention.text, cand.title, cand.cosine)
            if best is None or conf > best[0]:
                best = (conf, cand.item_id, cand.scene, cand.title)
        if best is None:
            return MentionLink(mention, None, 0.0)
        conf, iid, scene, title = best
        conf = round(conf, 4)
        if conf < self.threshold:
            return MentionLink(mention, None, conf, title)
        item = LinkedItem(mention=mention.text, action=mention.action, item_id=iid, title=title, scene=scene,
                          confidence=conf)  # fmt: skip
        return MentionLink(mention, item, conf, title)


def link_notes(links: Sequence[MentionLink], language: str = "en") -> list[str]:
    """One note per mention: "linked 'Alien' to Alien (1979)" or "could not link 'x' to any catalogue item"."""
    zh = ".zh" if language == "zh" else ""
    out = []
    for link in links:
        if link.item is not None:
            out.append(note("linked" + zh, mention=link.mention.text, title=link.item.title))
        else:
            out.append(note("not_linked" + zh, mention=link.mention.text))
    return out

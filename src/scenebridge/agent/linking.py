"""Links what a person says they did ("I loved Alien") to catalogue items, each with a confidence in 0..1.

Two sides, combined: the store's multilingual embedding (the mention's neighbours in the mentioned scene, else the
source scenes, else every scene but the target) and the title (rapidfuzz over a per-scene title index, every scene,
the target included: films someone has seen are often in the scene they want now, and must not come back). A
mention and a title in different scripts ("异形" / "Alien (1979)") are compared by the embedding alone.
The weights and the threshold were chosen on ``benchmarks/link_labels.yaml`` (``benchmarks/link_eval.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from scenebridge.agent.state import LinkedItem
from scenebridge.agent.summary import Mention
from scenebridge.agent.titles import CJK, MISSING_NUMBER, TitleIndex, norm_title, title_score, tokens
from scenebridge.agent.wording import note

if TYPE_CHECKING:
    from scenebridge.agent.link_prior import CoPurchase
    from scenebridge.store.chroma import ItemStore

__all__ = [
    "BASE_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "EXACT",
    "MISSING_NUMBER",
    "THRESHOLD",
    "TITLE_WEIGHT",
    "Candidate",
    "LinkWeights",
    "Linker",
    "MentionLink",
    "ScoredCandidate",
    "TitleIndex",
    "link_notes",
    "norm_title",
    "same_product",
    "title_score",
]

THRESHOLD = 0.95
"""The least confidence that links, with :data:`DEFAULT_WEIGHTS`. Chosen with them on the openings of 200 valid people
of ``bench conversation`` (art -> office, lexical; ``benchmarks/link_conversation.py``) among the settings of at least
75 % precision: 117 of 151 distinct linked items right (77.5 %), where title + embedding alone at 0.55 (the setting
chosen before on ``benchmarks/link_labels.yaml``) linked 140 right of 262 (53.4 %). The grid's top at that precision,
read later from its full output, was margin 3.0 (its edge) with had-together 0.1: 128 of 168 (76.2 %); this one was
kept, as measured end to end (78.8 % in ``bench conversation`` on those people)."""
# Chosen on benchmarks/link_labels.yaml (65 mentions, 49 with a right item) by a grid over the title weight
# (0.2-0.8), the cosine range and the threshold (0.4-0.85), best F0.5: thresholds 0.5 and 0.55 gave the same links;
# the higher one is kept. With these: precision 100 % (39/39), recall 79.6 % (39/49; English 39/39, Chinese names of
# English-titled items 0/10, none linked wrongly), chosen on the labels it is scored on: an optimistic figure.
BASE_THRESHOLD = 0.55
"""The threshold for title + embedding alone (no weights), chosen on ``benchmarks/link_labels.yaml``."""
TITLE_WEIGHT = 0.8
EXACT = 0.9
"""The confidence of a title equal to the mention once normalised ("The Terminator" / "Terminator, The (1984)")."""
COS_LO, COS_HI = 0.4, 0.9
"""Cosines are mapped linearly from [COS_LO, COS_HI] to [0, 1] (USE: unrelated short texts sit near 0.2-0.35)."""
SAME_PRODUCT = 0.6
"""Title-token Jaccard from which two titles name one product (the near-duplicates of ``bench conversation``)."""
MARGIN_CAP = 0.3
"""The ambiguity margin counts at most this much either way."""
TOGETHER_TOP = 5
"""How many of each other mention's best candidates a candidate is checked against for "had together"."""


@dataclass(frozen=True)
class LinkWeights:
    """How the parts of a link's confidence add up beside the title + embedding score.

    Attributes:
        margin: times the lead over the best rival product (ambiguity lowers the confidence).
        together: times the confidence of another mention's candidate someone had together with this one.
        popularity: times the 0..1 popularity of the item among people who had items of the source scenes.
    """

    margin: float = 0.0
    together: float = 0.0
    popularity: float = 0.0


DEFAULT_WEIGHTS = LinkWeights(margin=2.5, together=0.0, popularity=0.6)
"""Chosen with :data:`THRESHOLD` (see there) over margin 0-3, had-together 0-0.4 and popularity 0-0.8. Had-together
is informative (a candidate bought with another mention's was the person's own 22 % of the time, any candidate 9 %);
at margin 2.5 a weight of 0.1 linked 3 more right items and 5 more wrong ones (75.5 %), so it weighs 0 here."""


@dataclass(frozen=True)
class Candidate:
    """An item a mention may mean, with the cosine between their vectors."""

    item_id: str
    scene: str
    title: str
    cosine: float


@dataclass(frozen=True)
class ScoredCandidate:
    """A candidate with its confidence and the parts it was added up from (for traces, tests and weight search).

    Attributes:
        candidate: the item.
        confidence: 0..1, what is compared with the threshold.
        base: the title + embedding score (:meth:`Linker.confidence`).
        margin: ``base`` minus the best ``base`` of a candidate that is another product (+-:data:`MARGIN_CAP`).
        together: the best ``base`` among other mentions' top candidates someone had together with it (0..1).
        popularity: 0..1, how many people had it (0 without a prior).
    """

    candidate: Candidate
    confidence: float
    base: float
    margin: float
    together: float
    popularity: float


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
        threshold: the least confidence that links; below it the mention is reported as not linked (default:
            :data:`THRESHOLD` with a prior, :data:`BASE_THRESHOLD` without one).
        title_weight: the share of the title side in the confidence (the embedding side has the rest).
        k: embedding neighbours per mention, and title matches per scene.
        max_titles: scenes with more items are matched by embedding alone (no title index in memory).
        titles: ``titles(scene) -> [(item_id, title), ...]``; by default read from the store once per scene.
        cos_range: cosines mapped linearly onto 0..1 for the embedding side.
        prior: who had which items (:mod:`scenebridge.agent.link_prior`), for the popularity and had-together parts.
        weights: how margin, had-together and popularity add to the confidence (default: :data:`DEFAULT_WEIGHTS`
            with a prior; without one, none: the threshold and weights were chosen together with a prior, and a
            store without a fusion reranker links by title + embedding alone, as chosen on link_labels.yaml).
    """

    def __init__(
        self,
        store: ItemStore,
        *,
        threshold: float | None = None,
        title_weight: float = TITLE_WEIGHT,
        k: int = 10,
        max_titles: int = 200_000,
        titles: Callable[[str], Iterable[tuple[str, str]]] | None = None,
        cos_range: tuple[float, float] = (COS_LO, COS_HI),
        prior: CoPurchase | None = None,
        weights: LinkWeights | None = None,
    ) -> None:
        self.store = store
        self.prior = prior
        self.weights = weights if weights is not None else DEFAULT_WEIGHTS if prior is not None else LinkWeights()
        self.threshold = threshold if threshold is not None else THRESHOLD if prior is not None else BASE_THRESHOLD
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
        if bool(CJK.search(mention)) != bool(CJK.search(title)):
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
        # The had-together part is left out when it weighs nothing: it adds 0 to every confidence.
        ranked = self._scored(mentions, target, source_scenes, together=self.weights.together != 0.0)
        return [self._choose(m, r) for m, r in zip(mentions, ranked, strict=True)]

    def scored(
        self, mentions: Sequence[Mention], *, target: str | None = None, source_scenes: Sequence[str] = ()
    ) -> list[list[ScoredCandidate]]:
        """Every mention's candidates with the parts of their confidence (title + embedding, ambiguity margin,
        had together with another mention's candidates, popularity), best first."""
        return self._scored(mentions, target, source_scenes, together=True)

    def _scored(
        self, mentions: Sequence[Mention], target: str | None, source_scenes: Sequence[str], together: bool
    ) -> list[list[ScoredCandidate]]:
        if not mentions:
            return []
        vectors = self.store.embedder.embed([m.text for m in mentions])
        per = [self._base(m, self.candidates(m, vec, target, source_scenes)) for m, vec in zip(mentions, vectors,
               strict=True)]  # fmt: skip
        had = self._together(per) if together else [np.zeros(len(rows), dtype=np.float32) for rows in per]
        out = []
        for rows, tog in zip(per, had, strict=True):
            pop = self.prior.popularity([c.item_id for c, _ in rows]) if self.prior is not None else None
            scored = []
            for n, ((cand, base), margin) in enumerate(zip(rows, _margins(rows), strict=True)):
                pop_n = float(pop[n]) if pop is not None else 0.0
                w = self.weights
                raw = base + w.margin * margin + w.together * float(tog[n]) + w.popularity * pop_n
                scored.append((raw, ScoredCandidate(cand, round(min(1.0, max(0.0, raw)), 4), base, margin,
                                                    float(tog[n]), pop_n)))  # fmt: skip
            # Ordered by the sum before it is clipped to 1: two clear products both at 1.0 stay apart.
            out.append([c for _, c in sorted(scored, key=lambda p: -p[0])])
        return out

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

    def _base(self, mention: Mention, cands: Sequence[Candidate]) -> list[tuple[Candidate, float]]:
        return [(c, self.confidence(mention.text, c.title, c.cosine)[0]) for c in cands]

    def _together(self, per: Sequence[Sequence[tuple[Candidate, float]]]) -> list[np.ndarray]:
        """Per mention and candidate, 0..1: the best title + embedding confidence among the other mentions' top
        :data:`TOGETHER_TOP` candidates that someone had together with it (0 without a prior)."""
        zeros = [np.zeros(len(rows), dtype=np.float32) for rows in per]
        if self.prior is None or len(per) < 2:
            return zeros
        tops = [sorted(rows, key=lambda r: -r[1])[:TOGETHER_TOP] for rows in per]
        out = []
        for m, rows in enumerate(per):
            others = [r for o, top in enumerate(tops) if o != m for r in top]
            if not rows or not others:
                out.append(zeros[m])
                continue
            ids, other_ids = [c.item_id for c, _ in rows], [c.item_id for c, _ in others]
            had = self.prior.together(ids, other_ids) > 0
            had &= np.array(ids)[:, None] != np.array(other_ids)[None, :]  # an item is not "had with" itself
            conf = np.array([b for _, b in others], dtype=np.float32)
            out.append(np.where(had, conf[None, :], 0.0).max(axis=1).astype(np.float32))
        return out

    def _choose(self, mention: Mention, ranked: Sequence[ScoredCandidate]) -> MentionLink:
        if not ranked:
            return MentionLink(mention, None, 0.0)
        best = ranked[0]
        cand = best.candidate
        if best.confidence < self.threshold:
            return MentionLink(mention, None, best.confidence, cand.title)
        item = LinkedItem(mention=mention.text, action=mention.action, item_id=cand.item_id, title=cand.title,
                          scene=cand.scene, confidence=best.confidence)  # fmt: skip
        return MentionLink(mention, item, best.confidence, cand.title)


def same_product(a: str, b: str) -> bool:
    """Two titles name one product (title-token Jaccard >= :data:`SAME_PRODUCT`: "sketch pad 9x12 50 sheets" and
    "sketch pad 9x12 100 sheets")."""
    return _same(_title_tokens(a), _title_tokens(b))


@lru_cache(maxsize=1 << 14)
def _title_tokens(title: str) -> frozenset[str]:
    return frozenset(tokens(norm_title(title)))


def _same(ta: frozenset[str], tb: frozenset[str]) -> bool:
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= SAME_PRODUCT


def _margins(rows: Sequence[tuple[Candidate, float]]) -> list[float]:
    """Each candidate's lead over the best candidate that is another product (many near-identical sketch pads: a
    small or negative lead; the only likely product: its own confidence), clipped to +-:data:`MARGIN_CAP`."""
    toks = [_title_tokens(c.title) for c, _ in rows]
    # Best first, so each candidate's rival is the first other product met (not a comparison with every row).
    order = sorted(range(len(rows)), key=lambda j: -rows[j][1])
    out = []
    for i, (_, bi) in enumerate(rows):
        rival = next((rows[j][1] for j in order if j != i and not _same(toks[i], toks[j])), 0.0)
        out.append(max(-MARGIN_CAP, min(MARGIN_CAP, bi - rival)))
    return out


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

"""A reranker that needs no training: content similarity to what was said and to what the user had elsewhere.

score = w_i · cos(interest vector, item) + w_h · mean cos(history items, item) + w_r · retrieval score, with the
weights of missing parts (nothing said, no history, not retrieved) shared out among the rest. It is the turn's
default until a trained fusion model is given (``--reranker DIR``), and it follows the same :class:`Reranker`
protocol, so the turn never special-cases either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from scenebridge.blas import one_thread
from scenebridge.errors import UsageError
from scenebridge.rerank.api import Candidate, Evidence, RerankQuery, Scored

if TYPE_CHECKING:
    from scenebridge.store.chroma import Hit, ItemStore
    from scenebridge.store.embed import Embedder

__all__ = ["ContentReranker"]


class ContentReranker:
    """Interest + history-content + retrieval fusion with fixed weights.

    Args:
        store: the item store (history item vectors and titles are read from it).
        embedder: embeds the stated interests to find the one each item matches (the store's embedder by default).
        weights: (interest, history, retrieval) weights before missing parts are shared out.
        history_limit: most recent history items used.
    """

    def __init__(
        self,
        store: ItemStore,
        embedder: Embedder | None = None,
        weights: tuple[float, float, float] = (0.55, 0.3, 0.15),
        history_limit: int = 20,
    ) -> None:
        self.store = store
        self.weights = weights
        self.history_limit = history_limit
        self._embedder: Embedder = embedder if embedder is not None else store.embedder
        if self._embedder.model_id != store.embedder.model_id:
            msg = f"the interest embedder {self._embedder.model_id!r} is not the store's {store.embedder.model_id!r}"
            raise UsageError(msg)

    def _interest_matrix(self, interests: Sequence[str]) -> np.ndarray:
        """Vectors of the stated interests (a memoising embedder, like the turn's, makes repeats free)."""
        return np.asarray(self._embedder.embed(list(interests)), dtype=np.float32)

    @property
    def embedder_id(self) -> str:
        """The store's embedder: candidate and interest vectors come from it."""
        return self.store.embedder.model_id

    def _history(self, query: RerankQuery) -> tuple[list[Hit], np.ndarray]:
        # An item left out only because it was just shown (liked in the last answer, say) is still history.
        gone = query.exclude - query.not_again
        ids = [i for i in query.history if i not in gone][-self.history_limit :]
        return self.store.get_items(ids)

    def _mean(self, query: RerankQuery) -> np.ndarray | None:
        """The mean vector of the user's history (None: no history, or one with no direction)."""
        hits, vecs = self._history(query)
        if not hits:
            return None
        mean = vecs.mean(axis=0)
        return mean if np.any(mean) else None

    def prefetch(self, query: RerankQuery) -> None:
        """Starts the search near the mean of ``query``'s history (it depends on nothing the person says) in a
        background thread: the turn's parse hides it and :meth:`candidates` takes its answer from the store."""
        mean = self._mean(query)
        if mean is not None:
            self.store.prefetch(mean, query.scene)

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        """Items of ``query.scene`` nearest to the mean of the user's history (content stands in for behaviour)."""
        mean = self._mean(query)
        if mean is None:
            return []
        found = self.store.search(mean, scenes=[query.scene], k=k, exclude=query.exclude, facts=False)
        return [h.item_id for h in found]

    def rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None) -> list[Scored]:
        """Scores candidates (dropping excluded ones and those without a vector), best first, with evidence."""
        with one_thread():  # one person's small products: a second BLAS thread would spin after them (see blas)
            return self._rerank(query, candidates, k)

    def _rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None) -> list[Scored]:
        cands = [c for c in candidates if c.item_id not in query.exclude and c.vector is not None]
        if not cands:
            return []
        if query.interest_vector is not None and not np.any(query.interest_vector):
            # Interests with no embeddable word ("!!!" under hashing) state nothing; a zero vector adds no score
            # part, so the evidence's score shares must not expect one (they ran out of range).
            query = replace(query, interest_vector=None)
        mat = np.vstack([np.asarray(c.vector, dtype=np.float32) for c in cands])
        hist_hits, hist_vecs = self._history(query)
        w_i, w_h, w_r = self.weights
        parts: list[tuple[float, np.ndarray]] = []
        interest = np.zeros(len(cands), dtype=np.float32)
        if query.interest_vector is not None and np.any(query.interest_vector):
            interest = mat @ np.asarray(query.interest_vector, dtype=np.float32)
            parts.append((w_i, interest))
        hist_sim = np.zeros((len(cands), 0), dtype=np.float32)
        if len(hist_hits):
            hist_sim = mat @ hist_vecs.T
            parts.append((w_h, hist_sim.mean(axis=1)))
        retrieval = np.array([c.retrieval_score if c.retrieval_score is not None else np.nan for c in cands])
        if not np.all(np.isnan(retrieval)):
            parts.append((w_r, np.nan_to_num(retrieval, nan=float(np.nanmin(retrieval)))))
        total_w = sum(w for w, _ in parts) or 1.0
        score = sum(((w / total_w) * v for w, v in parts), np.zeros(len(cands)))
        order = np.argsort(-score, kind="stable")[: k if k is not None else len(cands)]
        # Which stated interest each candidate is closest to (multilingual vectors: a Chinese interest matches an
        # English title).
        best_interest = np.zeros(len(cands), dtype=int)
        if query.interests and query.interest_vector is not None:
            best_interest = np.argmax(mat[order] @ self._interest_matrix(query.interests).T, axis=1)
        shares = [w / total_w for w, _ in parts]
        out: list[Scored] = []
        for n, row in enumerate(order):
            cand = cands[int(row)]
            hist_row = hist_sim[row] if len(hist_hits) else None
            named = query.interests[int(best_interest[n])] if query.interests else ""
            evidence = self._evidence(query, float(interest[row]), named, hist_hits, hist_row, shares)
            out.append(Scored(item_id=cand.item_id, score=float(score[row]), evidence=evidence))
        return out

    def _evidence(
        self,
        query: RerankQuery,
        interest_sim: float,
        interest: str,
        hist_hits: list[Hit],
        hist_sim: np.ndarray | None,
        shares: list[float],
    ) -> list[Evidence]:
        """Reasons in data form: the stated interest it matches best, the most similar history item."""
        reasons: list[tuple[float, Evidence]] = []
        if query.interest_vector is not None and interest:
            strength = max(0.0, interest_sim)
            reasons.append((strength * shares[0], Evidence(kind="interest", weight=0.0, interest=interest)))
        if hist_sim is not None and len(hist_hits):
            best = int(np.argmax(hist_sim))
            hit = hist_hits[best]
            share = shares[1] if query.interest_vector is not None else shares[0]
            reasons.append((max(0.0, float(hist_sim[best])) * share, Evidence(
                kind="history-content", weight=0.0, item_id=hit.item_id, scene=hit.scene)))  # fmt: skip
        total = sum(r for r, _ in reasons)
        out = []
        for raw, ev in sorted(reasons, key=lambda p: -p[0]):
            ev.weight = round(raw / total, 3) if total > 0 else round(1.0 / len(reasons), 3)
            out.append(ev)
        return out

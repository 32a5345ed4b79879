"""The trained fusion model behind the :class:`~scenebridge.rerank.api.Reranker` contract, with evidence.

Evidence comes from occlusion: each feature family (co-occurrence, similar users, popularity, content, interest) is
switched off in turn and the score drop is its share — so a reason is given only when it really moved the score.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from scenebridge.blas import one_thread
from scenebridge.errors import UsageError
from scenebridge.rerank.api import Candidate, Evidence, RerankQuery, Scored, check_history_weights
from scenebridge.rerank.checkpoint import Checkpoint, load_checkpoint
from scenebridge.rerank.features import (
    FEATURES,
    Batch,
    HistorySignals,
    Signals,
    UserQuery,
    build_batch,
    content_only,
    history_signals,
    user_signals,
)
from scenebridge.rerank.infer import id_arrays
from scenebridge.rerank.topk import ContentTop

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["FusionReranker", "load_reranker"]

T = TypeVar("T")

_F = {name: i for i, name in enumerate(FEATURES)}
# Feature families switched off together for occlusion, and the value each takes when "absent".
_FAMILIES: dict[str, tuple[str, ...]] = {
    "co-occurrence": ("knn_log", "knn_rel", "support_log", "rank_knn"),
    "collaborative": ("users_log", "users_rel", "rank_users"),
    "popularity": ("pop_log", "pop_rel", "rank_pop"),
    "history-content": ("content_mean", "content_max"),
    "interest": ("interest_cos",),
}
_MIN_SHARE = 0.05


class FusionReranker:
    """A loaded fusion checkpoint that scores candidates in its target scene."""

    def __init__(self, ckpt: Checkpoint) -> None:
        self.ckpt = ckpt
        self._tpos = {ckpt.item_ids[c]: j for j, c in enumerate(ckpt.behaviour.tgt_cols)}
        # Target column -> item id as a list: numpy scalar indexing per candidate cost ~1 ms of a turn.
        self._tgt_ids = [ckpt.item_ids[c] for c in ckpt.behaviour.tgt_cols.tolist()]
        self._tgt_vecs = np.ascontiguousarray(ckpt.vectors[ckpt.behaviour.tgt_cols])
        self._depth = int(ckpt.config["depth"])
        self._content_top = ContentTop(self._tgt_vecs)
        # A turn asks for candidates and then reranks them for the same user: the per-user pass over every target
        # item (behaviour products, content scores, top lists) is kept for the next few calls.
        self._signals: OrderedDict[bytes, Signals] = OrderedDict()
        # The history-only part (co-occurrence, similar users, their top lists) outlives one statement: a person's
        # next statement in a conversation needs only the parts that depend on what they said.
        self._histories: OrderedDict[bytes, HistorySignals] = OrderedDict()
        self._pending: dict[bytes, Future[HistorySignals]] = {}
        self._worker: ThreadPoolExecutor | None = None
        self._signals_lock = threading.Lock()

    @property
    def embedder_id(self) -> str:
        return self.ckpt.embedder

    @property
    def scene(self) -> str:
        return self.ckpt.target

    def _user(self, query: RerankQuery) -> UserQuery:
        idx = self.ckpt.item_index
        # History in the target scene itself is excluded from features, as in training (cold start).
        vec = None if query.interest_vector is None else np.asarray(query.interest_vector, dtype=np.float32)
        if query.history_weights is None:
            hist = [idx[i] for i in dict.fromkeys(query.history) if i in idx and i not in self._tpos]
            return UserQuery(history=np.array(hist, dtype=np.int64), interest=vec)
        check_history_weights(query.history, query.history_weights)
        kept: dict[int, float] = {}  # an item given twice counts with its larger weight; weight 0 = not there
        for i, w in zip(query.history, query.history_weights, strict=True):
            if i in idx and i not in self._tpos and w > 0:
                kept[idx[i]] = max(kept.get(idx[i], 0.0), float(w))
        weights = np.array(list(kept.values()), dtype=np.float32)
        return UserQuery(history=np.array(list(kept), dtype=np.int64), interest=vec,
                         weights=None if bool((weights == 1.0).all()) else weights)  # fmt: skip

    def clear_cache(self) -> None:
        """Forgets the per-user passes kept between calls (benchmarks time calls with nothing shared)."""
        with self._signals_lock:
            pending = list(self._pending.values())
        wait(pending)  # one still running would keep its pass after the clear
        with self._signals_lock:
            self._signals.clear()
            self._histories.clear()

    def prefetch(self, query: RerankQuery) -> None:
        """Starts the history-only part of the per-user pass for ``query``'s history (only its scene and history
        are read) in a background thread: it does not depend on what was said, so a turn's parse hides it, and the
        turn's own pass takes it from there (or waits for it). Nothing happens for an empty or a kept history."""
        self._check_scene(query)
        user = self._user(query)
        who = _who(user)
        with self._signals_lock:
            if not len(user.history) or who in self._histories or who in self._pending:
                return
            self._worker = self._worker or ThreadPoolExecutor(1, thread_name_prefix="scenebridge-history")
            self._pending[who] = self._worker.submit(self._history_pass, user, who)

    def _history_pass(self, user: UserQuery, who: bytes) -> HistorySignals:
        try:
            hist = history_signals([user], self.ckpt.behaviour, self.ckpt.vectors, self._depth)
            with self._signals_lock:
                _keep(self._histories, who, hist)
            return hist
        finally:
            with self._signals_lock:
                self._pending.pop(who, None)

    def _user_signals(self, user: UserQuery, content: bool) -> Signals:
        """The user's pass over all targets, kept for the next calls; ``content`` adds the full content scores
        (needed to choose candidates, not to score given ones: ~3 ms of a 9 ms rerank)."""
        interest = b"" if user.interest is None else user.interest.tobytes()
        who = _who(user)
        key = who + b"|" + interest
        with self._signals_lock:
            kept = self._signals.get(key)
            if kept is not None and (not content or "content" in kept.tops):
                self._signals.move_to_end(key)
                return kept
            hist = self._histories.get(who)
            pending = self._pending.get(who) if hist is None else None
        hist = pending.result() if pending is not None else hist
        if hist is None:
            hist = history_signals([user], self.ckpt.behaviour, self.ckpt.vectors, self._depth)
        sig = user_signals([user], self.ckpt.behaviour, self.ckpt.vectors, self._depth, tgt_vecs=self._tgt_vecs,
                           content=content, content_top=self._content_top, history=hist)  # fmt: skip
        with self._signals_lock:
            _keep(self._signals, key, sig)
            _keep(self._histories, who, hist)
        return sig

    def _check_scene(self, query: RerankQuery) -> None:
        if query.scene != self.scene:
            msg = f"this reranker was trained for scene {self.scene!r}, not {query.scene!r}; train one for that scene"
            raise UsageError(msg)

    def _scores(self, batch: Batch, items: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Scores of the batch's rows (users x C), which all share ``items`` and ``targets`` (numpy: no torch in a
        process that only answers; the callers hold BLAS to one thread)."""
        rows = batch.feats.shape[0]
        return self.ckpt.net(
            batch.feats,
            batch.query,
            items,
            np.tile(np.arange(items.shape[0]), (rows, 1)),
            np.zeros(rows, dtype=np.int64),
            id_arrays(batch.histories, np.tile(targets, (rows, 1))),
            id_weights=_flat_weights(batch),
        )

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        """Behaviour candidates in the target scene (co-occurrence, similar users, popularity, and content similar
        to the user's history), ordered by the model.

        For a user with no history the content candidates would be the items nearest the interest vector — what
        the item store already retrieves in a turn — so they are left out (and the full content pass with them).
        """
        self._check_scene(query)
        # Small matrix products for one user: a second BLAS thread only adds hand-off cost, then spins (see blas).
        with one_thread():
            return self._candidates(query, k)

    def _candidates(self, query: RerankQuery, k: int) -> list[str]:
        user = self._user(query)
        batch = build_batch(
            [user],
            self.ckpt.behaviour,
            self.ckpt.vectors,
            self._depth,
            tgt_vecs=self._tgt_vecs,
            signals=self._user_signals(user, content=len(user.history) > 0),
        )
        cols = batch.cands[0][batch.mask[0]]
        vecs = self._tgt_vecs[cols]
        scores = self._scores(_take(batch, batch.mask[0]), vecs, cols)[0]
        out: list[str] = []
        for j in cols[np.argsort(-scores, kind="stable")].tolist():
            if len(out) == k:
                break
            if self._tgt_ids[j] not in query.exclude:
                out.append(self._tgt_ids[j])
        return out

    def rerank(
        self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None, evidence: bool = True
    ) -> list[Scored]:
        """Scores ``candidates``; an item the model never saw is scored by its content vector alone.

        Args:
            query: who asks, in which scene.
            candidates: the items to order (duplicates and ``query.exclude`` dropped).
            k: keep the best ``k`` (default: all).
            evidence: compute the evidence (occlusion: one extra forward pass per feature family).
        """
        self._check_scene(query)
        with one_thread():
            return self._rerank(query, candidates, k, evidence)

    def _rerank(
        self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None, evidence: bool
    ) -> list[Scored]:
        cands = [c for c in dict((c.item_id, c) for c in candidates).values() if c.item_id not in query.exclude]
        if not cands:
            return []
        user = self._user(query)
        known = np.array([self._tpos.get(c.item_id, -1) for c in cands], dtype=np.int64)
        batch = build_batch(
            [user],
            self.ckpt.behaviour,
            self.ckpt.vectors,
            self._depth,
            candidates=[np.maximum(known, 0)],
            tgt_vecs=self._tgt_vecs,
            signals=self._user_signals(user, content=False),
        )
        feats = batch.feats[0]
        items = self._tgt_vecs[np.maximum(known, 0)]  # catalogue vectors are unit length already
        for n in np.flatnonzero(known < 0):
            vec = cands[n].vector
            if vec is None:
                msg = f"item {cands[n].item_id!r} is not in the reranker's catalogue and came without a content vector"
                raise UsageError(msg)
            items[n] = np.asarray(vec, dtype=np.float32) / max(float(np.linalg.norm(vec)), 1e-9)
            feats[n] = content_only(user, items[n], self.ckpt.vectors, feats[n])
        base = self._scores(batch, items, known)[0]
        order = np.argsort(-base, kind="stable")[: k or len(cands)]
        if not evidence:
            return [Scored(item_id=cands[n].item_id, score=float(base[n])) for n in order]
        # Occlusion for the items kept only (15 of ~150 in a turn): their scores with each family switched off.
        drops, total = self._occlusion(_take(batch, order), items[order], known[order], base[order])
        nearest = self._nearest_history([int(known[n]) for n in order if known[n] >= 0], user)
        return [
            Scored(
                item_id=cands[n].item_id,
                score=float(base[n]),
                evidence=self._evidence(
                    query, user, known[n], feats[n], {f: float(d[r] / total[r]) for f, d in drops.items()}, nearest
                ),
            )
            for r, n in enumerate(order)
        ]

    def _nearest_history(self, cols: list[int], user: UserQuery) -> dict[str, dict[int, int]]:
        """For each shown target column, the user's history item with the highest co-occurrence similarity and the
        one nearest in content — one sparse slice and one product for all items, not one per item."""
        if not cols or not len(user.history):
            return {"co-occurrence": {}, "history-content": {}}
        # The history's rows made dense, then the columns taken (the same values; a sparse column slice cost ~0.5 ms).
        sims = self.ckpt.behaviour.sim[user.history].toarray()[:, cols]
        content = self.ckpt.vectors[user.history] @ self._tgt_vecs[cols].T
        if user.weights is not None:  # the item that counted most, as the signals weighed it
            sims, content = user.weights[:, None] * sims, user.weights[:, None] * content
        return {
            "co-occurrence": {j: int(user.history[b]) for j, b in zip(cols, sims.argmax(axis=0), strict=True)},
            "history-content": {j: int(user.history[b]) for j, b in zip(cols, content.argmax(axis=0), strict=True)},
        }

    def _occlusion(
        self, batch: Batch, items: np.ndarray, known: np.ndarray, base: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Each family's score drops from ``base`` (the candidates' scores) and their sum (candidate ``n``'s share of
        a family is ``drop[n] / total[n]``), from one forward pass over a copy of the list per family with that
        family's features switched off."""
        feats = np.repeat(batch.feats, len(_FAMILIES), axis=0)
        for row, names in enumerate(_FAMILIES.values()):
            feats[row][..., [_F[name] for name in names]] = 0.0
        rows = feats.shape[0]
        scored = self._scores(
            Batch(
                np.repeat(batch.cands, rows, axis=0),
                feats,
                np.repeat(batch.query, rows, axis=0),
                np.repeat(batch.mask, rows, axis=0),
                batch.histories * rows,
                None if batch.history_weights is None else batch.history_weights * rows,
            ),
            items,
            known,
        )
        drops = {family: np.maximum(base - scored[row], 0.0) for row, family in enumerate(_FAMILIES)}
        return drops, np.maximum(sum(drops.values()), 1e-9)

    def _evidence(
        self,
        query: RerankQuery,
        user: UserQuery,
        j: int,
        feats: np.ndarray,
        shares: dict[str, float],
        nearest: dict[str, dict[int, int]],
    ) -> list[Evidence]:
        ck = self.ckpt
        out: list[Evidence] = []
        for family, share in sorted(shares.items(), key=lambda kv: -kv[1]):
            if share < _MIN_SHARE:
                continue
            w = round(min(1.0, share), 3)
            if family == "co-occurrence" and j >= 0 and len(user.history):
                h = nearest["co-occurrence"][j]
                people = int(_at(ck.behaviour.support, h, j))
                if people == 0:
                    continue
                out.append(Evidence(kind="co-occurrence", weight=w, item_id=ck.item_ids[h], scene=ck.scenes[h],
                                    people=people, measure="occlusion"))  # fmt: skip
            elif family == "collaborative" and feats[_F["users_log"]] > 0:
                out.append(Evidence(kind="collaborative", weight=w, measure="occlusion"))
            elif family == "popularity" and j >= 0:
                people = int(ck.behaviour.pop[j])
                out.append(Evidence(kind="popularity", weight=w, people=people, measure="occlusion"))
            elif family == "history-content" and j >= 0 and len(user.history):
                h = nearest["history-content"][j]
                out.append(Evidence(kind="history-content", weight=w, item_id=ck.item_ids[h], scene=ck.scenes[h],
                                    measure="occlusion"))  # fmt: skip
            elif family == "interest" and query.interests and user.interest is not None:
                topic = _nearest_interest(query, self._tgt_vecs[j] if j >= 0 else None)
                out.append(Evidence(kind="interest", weight=w, interest=topic, measure="occlusion"))
        return out


def _nearest_interest(query: RerankQuery, item: np.ndarray | None) -> str:
    """The stated interest nearest to the item's content (the strongest one when vectors are missing)."""
    vecs = query.interest_vectors
    if item is None or vecs is None or len(vecs) != len(query.interests):
        return query.interests[0]
    return query.interests[int(np.argmax(np.asarray(vecs, dtype=np.float32) @ item))]


def _at(m: sp.csr_matrix, i: int, j: int) -> float:
    """``m[i, j]`` of a CSR matrix (scipy's scalar indexing validates its arguments for ~9 us, 13 times a turn)."""
    lo, hi = m.indptr[i], m.indptr[i + 1]
    return float(m.data[lo:hi][m.indices[lo:hi] == j].sum())


def _who(user: UserQuery) -> bytes:
    """The key of a user's history (and its weights) in the kept passes."""
    weights = b"" if user.weights is None else user.weights.tobytes()
    return user.history.tobytes() + b"|" + weights


def _keep(cache: OrderedDict[bytes, T], key: bytes, value: T, size: int = 16) -> None:
    """Keeps ``value`` as the newest entry of an LRU of ``size`` entries."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)


def _take(batch: Batch, cols: np.ndarray) -> Batch:
    """The batch (one user) with only the candidates ``cols`` (indices, in that order, or a mask), its histories and
    their weights kept."""
    return Batch(batch.cands[:, cols], batch.feats[:, cols], batch.query, batch.mask[:, cols], batch.histories,
                 batch.history_weights)  # fmt: skip


def _flat_weights(batch: Batch) -> np.ndarray | None:
    """The id path's per-history-item weights, flattened as ``id_inputs`` flattens the histories (None: all 1)."""
    if batch.history_weights is None:
        return None
    parts = [np.ones(len(h), np.float32) if w is None else w for h, w in zip(batch.histories, batch.history_weights,
             strict=True)]  # fmt: skip
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def load_reranker(path: str | Path, embedder: str | None = None) -> FusionReranker:
    """Loads a reranker folder written by ``scenebridge train`` (see :func:`load_checkpoint` for the checks)."""
    return FusionReranker(load_checkpoint(path, embedder))

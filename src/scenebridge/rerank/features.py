"""Candidates and features for (user, item) pairs: behaviour scores, content similarities, ranks.

A user is a :class:`UserQuery`: a history of catalogue columns (any scene but the target) and/or an interest vector
(the embedded interest summary). Candidates are the union of the top items of each signal — co-occurrence, similar
users, popularity, content — so the reranker is never limited by one weak retriever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scenebridge.rerank.behaviour import Behaviour, history_matrix

__all__ = [
    "FEATURES",
    "Batch",
    "HistorySignals",
    "Signals",
    "UserQuery",
    "build_batch",
    "content_only",
    "history_signals",
    "user_signals",
]

FEATURES = (
    "knn_log",
    "knn_rel",
    "support_log",
    "users_log",
    "users_rel",
    "pop_log",
    "pop_rel",
    "content_mean",
    "content_max",
    "interest_cos",
    "history_log",
    "has_history",
    "has_interest",
    "rank_knn",
    "rank_users",
    "rank_pop",
)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
_SIGNALS = ("knn", "users", "pop", "content")
# Rank features need a signal over every target item; content is left out because scoring all items' vectors costs
# a full pass over the catalogue's vectors (milliseconds), too much for reranking one user's candidates.
_RANKED = ("knn", "users", "pop")


@dataclass
class UserQuery:
    """One user as the reranker sees them: what they did elsewhere and/or what they said.

    Attributes:
        history: catalogue columns, each once.
        interest: the embedded statement, or None.
        weights: one weight in (0, 1] per history column (None: all 1, the trained case).
    """

    history: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    interest: np.ndarray | None = None
    weights: np.ndarray | None = None


@dataclass
class Batch:
    """Candidates and features of a batch of users (ragged, padded to the longest list).

    Attributes:
        cands: users x C target indices (-1 = padding).
        feats: users x C x len(FEATURES).
        query: users x D user content vectors (history mean and interest, normalised).
        mask: users x C, True where a candidate is real.
        histories: each user's history columns (the id path's input).
        history_weights: each user's history weights (None: all 1), aligned with ``histories``.
    """

    cands: np.ndarray
    feats: np.ndarray
    query: np.ndarray
    mask: np.ndarray
    histories: list[np.ndarray] = field(default_factory=list)
    history_weights: list[np.ndarray | None] | None = None


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(n, scores.shape[1])
    part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


@dataclass
class Signals:
    """What a batch of users' features need that does not depend on the candidates (reusable across calls).

    Attributes:
        signals: name -> users x targets scores (``content`` only when computed for choosing candidates).
        tops: name -> users x depth best target indices of each signal.
        support: users x targets co-occurrence support counts.
        hist_len: users, history length.
        mean_vec: users x D unit mean history vectors.
        interest: users x D unit interest vectors (zeros without one).
        has_interest: users.
        query: users x D user content vectors.
    """

    signals: dict[str, np.ndarray]
    tops: dict[str, np.ndarray]
    support: np.ndarray
    hist_len: np.ndarray
    mean_vec: np.ndarray
    interest: np.ndarray
    has_interest: np.ndarray
    query: np.ndarray


@dataclass
class HistorySignals:
    """The part of :class:`Signals` that depends on the users' histories alone, not on what they said (kept across
    one person's statements: ~4 ms of a turn's per-user pass). Attributes as in :class:`Signals`; ``signals`` and
    ``tops`` hold ``knn``, ``users`` and ``pop``."""

    signals: dict[str, np.ndarray]
    tops: dict[str, np.ndarray]
    support: np.ndarray
    hist_len: np.ndarray
    mean_vec: np.ndarray


def history_signals(
    queries: list[UserQuery], behaviour: Behaviour, item_vecs: np.ndarray, depth: int = 100
) -> HistorySignals:
    """The behaviour signals of the users' histories over all target items, and each one's top ``depth``."""
    n_items = behaviour.n_items
    weights = [q.weights for q in queries] if any(q.weights is not None for q in queries) else None
    H = history_matrix([q.history for q in queries], n_items, weights)
    hist_len = np.asarray(H.sum(axis=1)).ravel()
    if H.nnz:
        knn, support, users = behaviour.knn(H), behaviour.support_count(H), behaviour.users(H)
    else:  # statement-only users: the sparse products would be all zeros (1 ms of a turn's ~20)
        knn = np.zeros((len(queries), len(behaviour.tgt_cols)), dtype=np.float32)
        support, users = knn.copy(), knn.copy()
    pop = np.broadcast_to(behaviour.pop, knn.shape)
    mean_vec = _unit(np.asarray(H @ item_vecs, dtype=np.float32))
    signals = {"knn": knn, "users": users, "pop": pop}
    tops = {name: _top(sig, depth) for name, sig in signals.items()}
    return HistorySignals(signals, tops, support, hist_len, mean_vec)


def user_signals(
    queries: list[UserQuery],
    behaviour: Behaviour,
    item_vecs: np.ndarray,
    depth: int = 100,
    tgt_vecs: np.ndarray | None = None,
    content: bool = True,
    content_top: Callable[[np.ndarray, int], np.ndarray] | None = None,
    history: HistorySignals | None = None,
) -> Signals:
    """The per-user half of :func:`build_batch`: every signal over all target items and each one's top ``depth``.

    Args:
        content: also score every target item's content vector (needed only to choose candidates).
        content_top: ``f(query, depth)``, the users x ``depth`` best target items by content for the users' query
            vectors, when the caller has a faster way to find exactly them (see :mod:`scenebridge.rerank.topk`);
            only ``tops["content"]`` is kept then, not the scores.
        history: :func:`history_signals` of these users' histories, when the caller kept them.
    """
    hist = history if history is not None else history_signals(queries, behaviour, item_vecs, depth)
    support, hist_len, mean_vec = hist.support, hist.hist_len, hist.mean_vec
    interest = np.stack(
        [
            _unit(q.interest.astype(np.float32)) if q.interest is not None else np.zeros(item_vecs.shape[1], np.float32)
            for q in queries
        ]
    )
    has_interest = np.array([q.interest is not None for q in queries])
    query = _unit(mean_vec + interest)
    signals, tops = dict(hist.signals), dict(hist.tops)
    if content and content_top is None:
        targets = item_vecs[behaviour.tgt_cols] if tgt_vecs is None else tgt_vecs
        signals["content"] = np.ascontiguousarray(np.ascontiguousarray(targets) @ query.T).T
        tops["content"] = _top(signals["content"], depth)
    if content and content_top is not None:
        tops["content"] = content_top(query, depth)
    return Signals(signals, tops, support, hist_len, mean_vec, interest, has_interest, query)


def build_batch(
    queries: list[UserQuery],
    behaviour: Behaviour,
    item_vecs: np.ndarray,
    depth: int = 100,
    candidates: list[np.ndarray] | None = None,
    tgt_vecs: np.ndarray | None = None,
    signals: Signals | None = None,
) -> Batch:
    """Candidates (union of each signal's top ``depth``) and their features for a batch of users.

    Args:
        queries: the users.
        behaviour: fitted behaviour statistics of the target scene.
        item_vecs: catalogue x D unit content vectors (rows of the target scene are scored).
        depth: how many top items of each signal join the candidates.
        candidates: per user, the exact target indices to score (e.g. items the item store retrieved) instead of
            the union of the signals' top items.
        tgt_vecs: ``item_vecs`` rows of the target items, when the caller keeps them (saves a copy per call).
        signals: :func:`user_signals` of these queries, when the caller kept them from an earlier call.
    """
    if tgt_vecs is None:
        tgt_vecs = item_vecs[behaviour.tgt_cols]
    if signals is None:  # content candidates only when choosing candidates, see _RANKED
        signals = user_signals(queries, behaviour, item_vecs, depth, tgt_vecs, content=candidates is None)
    sig, tops, hist_len, has_interest = signals.signals, signals.tops, signals.hist_len, signals.has_interest
    cand_lists = []
    for i in range(len(queries)):
        if candidates is not None:
            cand_lists.append(np.asarray(candidates[i], dtype=np.int64))
            continue
        informative = {"pop"}
        if hist_len[i] > 0:
            informative |= {"knn", "users", "content"}
        if has_interest[i]:
            informative.add("content")
        cand_lists.append(
            np.unique(np.concatenate([tops[name][i] for name in _SIGNALS if name in informative and name in tops]))
        )
    width = max(1, max(len(c) for c in cand_lists))
    cands = np.full((len(queries), width), -1, dtype=np.int64)
    mask = np.zeros((len(queries), width), dtype=bool)
    for i, c in enumerate(cand_lists):
        cands[i, : len(c)] = c
        mask[i, : len(c)] = True
    safe = np.maximum(cands, 0)
    rank_feats = {}
    n_targets = sig["knn"].shape[1]
    for name in _RANKED:
        rank = np.full((len(queries), n_targets), np.inf, dtype=np.float32)
        np.put_along_axis(rank, tops[name], np.arange(tops[name].shape[1], dtype=np.float32)[None, :], axis=1)
        rank_feats[name] = 1.0 / np.log2(2.0 + np.take_along_axis(rank, safe, axis=1))
    take = {name: np.take_along_axis(sig[name], safe, axis=1) for name in _RANKED}
    sup = np.take_along_axis(signals.support, safe, axis=1)
    cvec = tgt_vecs[safe]
    content_max = np.zeros(cands.shape, dtype=np.float32)
    for i, q in enumerate(queries):
        if len(q.history):
            sims = item_vecs[q.history] @ cvec[i].T
            content_max[i] = (sims if q.weights is None else q.weights[:, None] * sims).max(axis=0)
    interest_cos = np.einsum("ud,ucd->uc", signals.interest, cvec)
    content_mean = np.einsum("ud,ucd->uc", signals.mean_vec, cvec)

    def rel(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(x.max(axis=1, keepdims=True), 1e-9)

    cols = {
        "knn_log": np.log1p(100.0 * take["knn"]),
        "knn_rel": rel(take["knn"]),
        "support_log": np.log1p(sup),
        "users_log": np.log1p(take["users"]),
        "users_rel": rel(take["users"]),
        "pop_log": np.log1p(take["pop"]),
        "pop_rel": rel(take["pop"]),
        "content_mean": content_mean,
        "content_max": content_max,
        "interest_cos": interest_cos,
        "history_log": np.broadcast_to(np.log1p(hist_len)[:, None], cands.shape),
        "has_history": np.broadcast_to((hist_len > 0)[:, None], cands.shape),
        "has_interest": np.broadcast_to(has_interest[:, None], cands.shape),
        "rank_knn": rank_feats["knn"],
        "rank_users": rank_feats["users"],
        "rank_pop": rank_feats["pop"],
    }
    feats = np.stack([np.asarray(cols[name], dtype=np.float32) for name in FEATURES], axis=-1)
    feats[~mask] = 0.0
    histories = [np.asarray(q.history, dtype=np.int64) for q in queries]
    hist_w = [q.weights for q in queries] if any(q.weights is not None for q in queries) else None
    return Batch(cands=cands, feats=feats, query=signals.query.astype(np.float32), mask=mask, histories=histories,
                 history_weights=hist_w)  # fmt: skip


def content_only(user: UserQuery, item: np.ndarray, vectors: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Features of an item the model never saw: no behaviour, content similarities from its own vector."""
    out = np.zeros_like(row)
    hist = vectors[user.history]
    if user.weights is None:
        mean = hist.mean(axis=0) if len(user.history) else np.zeros_like(item)
        sims = hist @ item
    else:
        mean, sims = user.weights @ hist, user.weights * (hist @ item)
    mean = mean / max(float(np.linalg.norm(mean)), 1e-9)
    out[_INDEX["content_mean"]] = float(mean @ item)
    out[_INDEX["content_max"]] = float(sims.max()) if len(user.history) else 0.0
    if user.interest is not None:
        vec = user.interest / max(float(np.linalg.norm(user.interest)), 1e-9)
        out[_INDEX["interest_cos"]] = float(vec @ item)
    for name in ("history_log", "has_history", "has_interest"):
        out[_INDEX[name]] = row[_INDEX[name]]
    return out

"""Baseline recommenders for the cold-start cross-scene protocol.

Each method fits on a :class:`~scenebridge.data.visible.Context` (visible interactions only) and scores every
target-scene item for a list of users. Hyper-parameters, where a method has them, are chosen on valid users.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from scenebridge.data.format import item_texts
from scenebridge.data.preprocess import minmax, normalize_text, zscore
from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.eval.metrics import ndcg, top_k
from scenebridge.store.embed import cached_embedder

__all__ = [
    "METHODS",
    "AlsMethod",
    "HybridMethod",
    "ItemKnnMethod",
    "Method",
    "PopularityMethod",
    "SeedDotMethod",
    "StackMethod",
    "TfidfMethod",
    "fitted",
    "make_method",
    "valid_ndcg",
]


class Method(Protocol):
    """A recommender the harness can fit and score."""

    name: str

    def fit(self, ctx: Context) -> None: ...

    def score(self, users: Sequence[str]) -> np.ndarray:
        """Scores of every target item, shape (len(users), len(target_items))."""
        ...


class PopularityMethod:
    """Target items ranked by how many visible users interacted with them."""

    name = "popularity"

    def fit(self, ctx: Context) -> None:
        counts = np.asarray(ctx.X[:, ctx.tgt_cols].sum(axis=0)).ravel()
        self.pop = counts.astype(np.float32)

    def score(self, users: Sequence[str]) -> np.ndarray:
        return np.tile(self.pop, (len(users), 1))


class ItemKnnMethod:
    """Cross-scene ItemKNN: co-occurrence cosine between source and target items, summed over the history.

    The cosine is shrunk towards 0 for pairs seen together rarely (``co / (sqrt(n_s n_t) + shrink)``); the
    shrinkage is chosen on valid users. Popularity (scaled to [0, 1e-6]) breaks ties, so a user with no
    co-occurring item still gets a ranking.
    """

    name = "itemknn"
    shrinks = (0.0, 10.0, 100.0, 1000.0)

    def fit(self, ctx: Context) -> None:
        self.ctx = ctx
        Xs = ctx.X[:, ctx.src_cols].tocsc()
        Xt = ctx.X[:, ctx.tgt_cols].tocsc()
        co = (Xs.T @ Xt).tocsr().astype(np.float32)
        ns = np.asarray(Xs.sum(axis=0)).ravel()
        nt = np.asarray(Xt.sum(axis=0)).ravel()
        self.tie = (minmax(nt) * 1e-6).astype(np.float32)
        coo = co.tocoo()
        norm = np.sqrt(ns[coo.row] * nt[coo.col]).astype(np.float32)
        best = -1.0
        for shrink in self.shrinks:
            self.sim = sp.csr_matrix((coo.data / (norm + np.float32(shrink)), (coo.row, coo.col)), shape=co.shape)
            val = valid_ndcg(ctx, self.score)
            if val > best:
                best, chosen = val, (self.sim, shrink)
        self.sim, self.shrink = chosen
        ctx.progress.note(f"itemknn: shrink={self.shrink:g} (valid ndcg@10 {best:.4f})")

    def score(self, users: Sequence[str]) -> np.ndarray:
        Xu = self.ctx.source_matrix(users)
        return np.asarray((Xu @ self.sim).todense(), dtype=np.float32) + self.tie


class TfidfMethod:
    """TF-IDF over title + category (English/Chinese normalised tokens); user = mean of their source items."""

    name = "tfidf"

    def fit(self, ctx: Context) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ctx = ctx
        items = ctx.split.items
        texts = item_texts(items)
        vec = TfidfVectorizer(analyzer=normalize_text, sublinear_tf=True, min_df=1, dtype=np.float32)
        self.matrix = vec.fit_transform(texts).tocsr()
        self.target = self.matrix[ctx.tgt_cols].T.tocsc()

    def score(self, users: Sequence[str]) -> np.ndarray:
        Xu = self.ctx.source_matrix(users)[:, :]
        # Mean of the history's item vectors (source columns map back to catalogue rows).
        src_rows = self.matrix[self.ctx.src_cols]
        counts = np.asarray(Xu.sum(axis=1)).ravel()
        profile = sp.diags(np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)) @ Xu @ src_rows
        return np.asarray((profile @ self.target).todense(), dtype=np.float32)


class AlsMethod:
    """Implicit-feedback ALS (the ``implicit`` package) on all visible interactions; size chosen on valid users."""

    name = "als"
    user_factors: np.ndarray
    item_factors: np.ndarray
    grid: tuple[tuple[int, float], ...] = ((32, 0.01), (64, 0.01), (128, 0.01), (64, 0.1))

    def fit(self, ctx: Context) -> None:
        from threadpoolctl import threadpool_limits

        self.ctx = ctx
        best = -1.0
        with threadpool_limits(1, "blas"):
            for factors, reg in self.grid:
                self._train(factors, reg, ctx)
                val = valid_ndcg(ctx, self.score)
                if val > best:
                    best, chosen = val, (self.user_factors, self.item_factors, factors, reg)
        self.user_factors, self.item_factors, self.factors, self.regularization = chosen
        ctx.progress.note(
            f"als: factors={self.factors} regularization={self.regularization} (valid ndcg@10 {best:.4f})"
        )

    def _train(self, factors: int, reg: float, ctx: Context) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=factors, regularization=reg, iterations=15, random_state=ctx.seed, num_threads=2
        )
        model.fit(ctx.X, show_progress=False)
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)[self.ctx.tgt_cols]

    def score(self, users: Sequence[str]) -> np.ndarray:
        rows = self.ctx.rows(users)
        U = np.where((rows >= 0)[:, None], self.user_factors[np.maximum(rows, 0)], 0.0)
        return (U @ self.item_factors.T).astype(np.float32)


class SeedDotMethod:
    """The seed article's method: embed a user text and the item texts, rank by dot product.

    The user text is the titles of the user's last ``history`` source items; item text is title + category.
    Embeddings are multilingual USE (offline), cached on disk.
    """

    name = "seed-dot"
    history = 10

    def __init__(self, embedder: str = "use-multilingual") -> None:
        self.embedder_name = embedder

    def fit(self, ctx: Context) -> None:

        self.ctx = ctx
        self.embedder = cached_embedder(self.embedder_name)
        items = ctx.split.items.set_index("item_id")
        self.titles = items["title"].to_dict()
        texts = item_texts(items.loc[ctx.split.target_items])
        advance = ctx.progress.task("seed-dot: embedding target items", len(texts))
        self.item_vecs = self.embedder.embed(texts, progress=advance)

    def user_text(self, user: str) -> str:
        return ". ".join(self.titles[i] for i in self.ctx.split.history(user)[-self.history :])

    def score(self, users: Sequence[str]) -> np.ndarray:
        vecs = self.embedder.embed([self.user_text(u) for u in users])
        return vecs @ self.item_vecs.T


class HybridMethod:
    """Weighted sum of per-user z-scored ItemKNN, TF-IDF, ALS and log-popularity; weights chosen on valid users."""

    name = "hybrid"
    parts = ("itemknn", "tfidf", "als")
    grid = (0.0, 1.0, 2.0)

    def fit(self, ctx: Context) -> None:
        self.methods = [fitted(ctx, name) for name in self.parts]
        self.log_pop = np.log1p(np.asarray(ctx.X[:, ctx.tgt_cols].sum(axis=0)).ravel())
        self.weights: tuple[float, ...] = (1.0,) + (0.0,) * len(self.parts)
        users = ctx.split.valid_users[:1000]
        if not users:
            return
        cached = self._components(users)
        best = -1.0
        for weights in itertools.product(self.grid, repeat=len(self.parts) + 1):
            if not any(weights):
                continue
            val = valid_ndcg(ctx, partial(self._score_cached, cached, weights))
            if val > best:
                best, self.weights = val, weights
        names = "/".join((*self.parts, "popularity"))
        ctx.progress.note(f"hybrid: weights {names} = {self.weights} (valid ndcg@10 {best:.4f})")

    def _components(self, users: Sequence[str]) -> list[np.ndarray]:
        comps = [zscore(m.score(users), axis=1).astype(np.float32) for m in self.methods]
        comps.append(np.tile(zscore(self.log_pop).astype(np.float32), (len(users), 1)))
        return comps

    def _score_cached(self, cached: list[np.ndarray], weights: tuple[float, ...], _users: Sequence[str]) -> np.ndarray:
        return self._combine(cached, weights)

    @staticmethod
    def _combine(comps: list[np.ndarray], weights: tuple[float, ...]) -> np.ndarray:
        out = np.zeros_like(comps[0])
        for w, c in zip(weights, comps, strict=True):
            if w:
                out += np.float32(w) * c
        return out

    def score(self, users: Sequence[str]) -> np.ndarray:
        return self._combine(self._components(users), self.weights)


class StackMethod:
    """Logistic regression over per-user z-scored popularity, ALS, ItemKNN and TF-IDF scores, fit on valid users.

    Training rows are, for each valid user, the union of each component's top-``depth`` items (labels: the user's
    hidden target items); ranking is by the model's linear score over every target item.
    """

    name = "stack"
    parts = ("popularity", "als", "itemknn", "tfidf")
    depth = 200

    def fit(self, ctx: Context) -> None:
        from sklearn.linear_model import LogisticRegression

        self.methods = [fitted(ctx, name) for name in self.parts]
        users = ctx.split.valid_users[:1000]
        self.coef = np.ones(len(self.parts), dtype=np.float32)
        if not users:
            return
        comps = self._components(users)
        target_index = {iid: j for j, iid in enumerate(ctx.split.target_items)}
        X_rows, y_rows = [], []
        depth = min(self.depth, len(ctx.split.target_items))
        for i, user in enumerate(users):
            cand: set[int] = set()
            for c in comps:
                cand.update(np.argpartition(-c[i], depth - 1)[:depth].tolist())
            cols = np.fromiter(sorted(cand), dtype=np.int64)
            X_rows.append(np.stack([c[i, cols] for c in comps], axis=1))
            truth = {target_index[t] for t in ctx.split.valid_truth[user] if t in target_index}
            y_rows.append(np.isin(cols, list(truth)).astype(np.int8))
        X, y = np.vstack(X_rows), np.concatenate(y_rows)
        if y.min() == y.max():
            return
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(X, y)
        self.coef = model.coef_[0].astype(np.float32)
        self.candidate_recall = float(y.sum() / sum(len(ctx.split.valid_truth[u]) for u in users))
        weights = ", ".join(f"{n} {w:+.3f}" for n, w in zip(self.parts, self.coef, strict=True))
        ctx.progress.note(
            f"stack: {weights}; valid candidate recall@union-top-{self.depth} {self.candidate_recall:.3f}"
        )

    def _components(self, users: Sequence[str]) -> list[np.ndarray]:
        out = []
        for m in self.methods:
            scores = m.score(users)
            if m.name == "popularity":
                scores = np.log1p(scores)
            out.append(zscore(scores, axis=1).astype(np.float32))
        return out

    def score(self, users: Sequence[str]) -> np.ndarray:
        comps = self._components(users)
        out = np.zeros_like(comps[0])
        for w, c in zip(self.coef, comps, strict=True):
            out += w * c
        return out


METHODS: dict[str, Callable[[], Method]] = {
    "popularity": PopularityMethod,
    "itemknn": ItemKnnMethod,
    "tfidf": TfidfMethod,
    "als": AlsMethod,
    "seed-dot": SeedDotMethod,
    "hybrid": HybridMethod,
    "stack": StackMethod,
}


def make_method(name: str) -> Method:
    """Builds a method by name.

    Raises:
        UsageError: for an unknown name; the message lists the valid ones.
    """
    try:
        return METHODS[name]()
    except KeyError:
        msg = f"unknown method {name!r}; choose from: {', '.join(METHODS)}"
        raise UsageError(msg) from None


def fitted(ctx: Context, name: str) -> Method:
    """A fitted method by name, fitting it on first use and keeping it in ``ctx``, so combinations reuse parts."""
    if name not in ctx.methods:
        method = make_method(name)
        method.fit(ctx)
        ctx.methods[name] = method
    method_: Method = ctx.methods[name]
    return method_


def valid_ndcg(ctx: Context, score: Callable[[Sequence[str]], np.ndarray], k: int = 10, max_users: int = 1000) -> float:
    """Mean NDCG@k over valid users: the model-selection signal (never the test users)."""
    users = ctx.split.valid_users[:max_users]
    if not users:
        return 0.0
    top = top_k(score(users), k)
    target = ctx.split.target_items
    vals = [ndcg([target[j] for j in top[i]], ctx.split.valid_truth[u], k) for i, u in enumerate(users)]
    return float(np.mean(vals))

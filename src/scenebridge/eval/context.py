"""What every method may see during fitting: the visible interactions as a sparse matrix, and shared helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import scipy.sparse as sp

from scenebridge.data.split import CrossSceneSplit
from scenebridge.eval.metrics import ndcg

if TYPE_CHECKING:
    from scenebridge.eval.baselines import Method

__all__ = ["Context", "Progress", "SilentProgress", "top_k"]


class Progress(Protocol):
    """How long-running steps report progress (the CLI draws rich bars; tests stay silent)."""

    def task(self, description: str, total: int) -> Callable[[int], None]: ...

    def note(self, message: str) -> None: ...


class SilentProgress:
    """A :class:`Progress` that shows nothing."""

    def task(self, description: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def note(self, message: str) -> None:
        return None


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first; ties go to the lower index (deterministic)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.arange(scores.shape[0])[:, None]
    # lexsort's last key is primary: score descending, then column index ascending.
    order = np.lexsort((part, -scores[rows, part]), axis=1)
    return part[rows, order]


@dataclass
class Context:
    """The visible data of a :class:`CrossSceneSplit`, indexed once and shared by all methods.

    Attributes:
        split: the split; methods read ``split.train`` and ``split.history`` only.
        X: users x items binary matrix of the visible interactions.
        user_index: user id -> row of ``X``.
        item_ids: all item ids (columns of ``X``).
        src_cols: columns of the source scene's items.
        tgt_cols: columns of the target scene's items, in ``split.target_items`` order.
        seed: the random seed every method uses.
    """

    split: CrossSceneSplit
    X: sp.csr_matrix
    user_index: dict[str, int]
    item_ids: list[str]
    item_index: dict[str, int]
    src_cols: np.ndarray
    tgt_cols: np.ndarray
    seed: int = 0
    progress: Progress = field(default_factory=SilentProgress)
    _fitted: dict[str, Method] = field(default_factory=dict)

    @classmethod
    def build(cls, split: CrossSceneSplit, seed: int = 0, progress: Progress | None = None) -> Context:
        items = split.items
        item_ids = list(items["item_id"])
        item_index = {iid: i for i, iid in enumerate(item_ids)}
        users = sorted(split.train["user_id"].unique())
        user_index = {u: i for i, u in enumerate(users)}
        rows = split.train["user_id"].map(user_index).to_numpy()
        cols = split.train["item_id"].map(item_index).to_numpy()
        X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(item_ids)))
        X.data[:] = 1.0  # binary even if a pair slipped in twice
        scene = items["scene"].to_numpy()
        src_cols = np.flatnonzero(scene == split.source)
        tgt_cols = np.array([item_index[i] for i in split.target_items], dtype=np.int64)
        return cls(
            split=split,
            X=X,
            user_index=user_index,
            item_ids=item_ids,
            item_index=item_index,
            src_cols=src_cols,
            tgt_cols=tgt_cols,
            seed=seed,
            progress=progress or SilentProgress(),
        )

    def rows(self, users: Sequence[str]) -> np.ndarray:
        """Rows of ``X`` for these users (-1 for a user with no visible interaction)."""
        return np.array([self.user_index.get(u, -1) for u in users], dtype=np.int64)

    def history_cols(self, user: str) -> np.ndarray:
        """Catalogue columns of the user's visible source-scene history, oldest first."""
        return np.array([self.item_index[i] for i in self.split.history(user)], dtype=np.int64)

    def source_matrix(self, users: Sequence[str]) -> sp.csr_matrix:
        """Users x source items, binary (an empty row for an unknown user)."""
        rows = self.rows(users)
        Xs = self.X[:, self.src_cols].tocsr()
        out = Xs[np.maximum(rows, 0)]
        if (rows < 0).any():
            out = sp.csr_matrix(out.multiply((rows >= 0)[:, None].astype(np.float32)))
        return sp.csr_matrix(out)

    def register(self, method: Method) -> None:
        """Adds an already fitted method (e.g. a trained reranker) under its name."""
        self._fitted[method.name] = method

    def fitted(self, name: str) -> Method:
        """A fitted method by name, fitting it on first use, so combinations reuse their parts."""
        if name not in self._fitted:
            from scenebridge.eval.baselines import make_method

            method = make_method(name)
            method.fit(self)
            self._fitted[name] = method
        return self._fitted[name]

    def valid_ndcg(self, score: Callable[[Sequence[str]], np.ndarray], k: int = 10, max_users: int = 1000) -> float:
        """Mean NDCG@k over valid users: the model-selection signal (never the test users)."""
        users = self.split.valid_users[:max_users]
        if not users:
            return 0.0
        scores = score(users)
        top = top_k(scores, k)
        target = self.split.target_items
        vals = [ndcg([target[j] for j in top[i]], self.split.valid_truth[u], k) for i, u in enumerate(users)]
        return float(np.mean(vals))

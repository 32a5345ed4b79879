"""What every method may see during fitting: the visible interactions of a split as a sparse matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from scenebridge.data.split import CrossSceneSplit
from scenebridge.progress import Progress, SilentProgress

__all__ = ["Context"]


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
    methods: dict[str, Any] = field(default_factory=dict)

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

    def register(self, method: Any) -> None:
        """Adds an already fitted method (e.g. a trained reranker) under its ``name``."""
        self.methods[method.name] = method

"""What the interaction logs say about the items a mention may mean: how many people have each, and which were had
together, for linking several mentions at once ("clutch earring backs, fiber suede cord" are more likely two items
bought by the same people than two unrelated products of the same names).

Read from a trained fusion reranker's behaviour statistics: ``neighbours`` holds the histories outside the target
scene of the *training* users active in it (valid and test users' target items are held out, so they are never
among them), and the checkpoint's catalogue names its columns.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from scenebridge.rerank.api import Reranker
from scenebridge.rerank.fusion import FusionReranker
from scenebridge.rerank.router import SceneRouter

__all__ = ["CoPurchase", "prior_for"]


class CoPurchase:
    """Per-item counts of people and pairwise "had together" counts from a users x catalogue matrix.

    Args:
        users_items: users x catalogue; any nonzero entry means the user had the item.
        item_ids: the catalogue's item ids, one per column.
    """

    def __init__(self, users_items: sp.spmatrix, item_ids: Sequence[str]) -> None:
        if users_items.shape[1] != len(item_ids):
            msg = f"{users_items.shape[1]} columns but {len(item_ids)} item ids"
            raise ValueError(msg)
        B = sp.csc_matrix(users_items, dtype=np.float32)
        B.data[:] = 1.0
        B.eliminate_zeros()
        self._B = B
        self._index = {iid: i for i, iid in enumerate(item_ids)}
        self._count = np.diff(B.indptr).astype(np.float32)
        self._log_max = math.log1p(float(self._count.max())) if len(self._count) and self._count.max() > 0 else 1.0

    def _cols(self, ids: Sequence[str]) -> np.ndarray:
        return np.array([self._index.get(i, -1) for i in ids], dtype=np.int64)

    def popularity(self, ids: Sequence[str]) -> np.ndarray:
        """0..1 per item: log(1 + people who had it) over the most-had item's (0 for an unknown item)."""
        cols = self._cols(ids)
        out = np.zeros(len(ids), dtype=np.float32)
        known = cols >= 0
        out[known] = np.log1p(self._count[cols[known]]) / self._log_max
        return out

    def together(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """len(a) x len(b): how many people had both (0 where either is unknown)."""
        ca, cb = self._cols(a), self._cols(b)
        out = np.zeros((len(a), len(b)), dtype=np.float32)
        ka, kb = np.flatnonzero(ca >= 0), np.flatnonzero(cb >= 0)
        if len(ka) and len(kb):
            out[np.ix_(ka, kb)] = (self._B[:, ca[ka]].T @ self._B[:, cb[kb]]).toarray()
        return out


def prior_for(reranker: Reranker | None) -> CoPurchase | None:
    """The co-purchase prior of the first fusion reranker served (``None`` without one: linking then uses titles
    and embeddings alone)."""
    found: list[Reranker] = []
    if isinstance(reranker, SceneRouter):
        found = list(reranker.by_scene.values())
    elif reranker is not None:
        found = [reranker]
    for rr in found:
        if isinstance(rr, FusionReranker):
            return _Later(rr)
    return None


class _Later(CoPurchase):
    """A :class:`CoPurchase` built at its first use: a one-shot call's reranker is still loading in the background
    when the recommender is built (reading ``ckpt`` there would wait for it before the parse)."""

    def __init__(self, reranker: FusionReranker) -> None:  # the parent's state lives in the built one
        self._reranker = reranker
        self._built: CoPurchase | None = None
        self._lock = threading.Lock()

    def _get(self) -> CoPurchase:
        with self._lock:
            if self._built is None:
                ckpt = self._reranker.ckpt
                self._built = CoPurchase(ckpt.behaviour.neighbours, ckpt.item_ids)
            return self._built

    def popularity(self, ids: Sequence[str]) -> np.ndarray:
        return self._get().popularity(ids)

    def together(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        return self._get().together(a, b)

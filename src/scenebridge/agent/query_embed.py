"""Query embedding for turns: single-threaded (fastest for one short text on a busy CPU) and memoised."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from scenebridge.store.embed import UseMultilingualEmbedder

__all__ = ["QueryEmbedder"]


class QueryEmbedder:
    """Embeds short query texts with the store's model, remembering recent ones.

    Args:
        inner: the embedder (must be the store's model: same ``model_id``).
        size: how many texts to remember.
    """

    def __init__(self, inner: Any, size: int = 2048) -> None:
        self.inner = inner
        self.model_id: str = inner.model_id
        self.dim: int = inner.dim
        self.size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, store_embedder: Any) -> QueryEmbedder:
        """A query embedder for a store's embedder; USE gets its own single-threaded copy (measured 10x faster
        for one text than 2 BLAS threads while other work shares the cores), one per process."""
        inner = getattr(store_embedder, "inner", store_embedder)
        if isinstance(inner, UseMultilingualEmbedder):
            return _use_query_embedder()
        return cls(inner)

    def warm(self) -> None:
        """Loads the model's weights now (USE reads ~65 MB at its first text: ~1 s), e.g. while an LLM loads."""
        self.inner.embed(["warm"])

    def clear(self) -> None:
        """Forgets remembered texts (benchmarks measure embedding, not the memo)."""
        with self._lock:
            self._memo.clear()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors, one row per text."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
            if missing:
                for text, vec in zip(missing, np.asarray(self.inner.embed(missing), dtype=np.float32), strict=True):
                    self._memo[text] = vec
            for t in texts:
                self._memo.move_to_end(t)
            out = np.vstack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)
            # Evict after the answer is taken: the oldest entries may be texts of this very call (a KeyError before).
            while len(self._memo) > max(self.size, len(texts)):
                self._memo.popitem(last=False)
            return out


@cache
def _use_query_embedder() -> QueryEmbedder:
    """The process's one single-threaded USE query embedder: loading the weights costs seconds, and recommenders
    built one per script or benchmark pass share it (its lock serialises the calls)."""
    return QueryEmbedder(UseMultilingualEmbedder(threads=1))

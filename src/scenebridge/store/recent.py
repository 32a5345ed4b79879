"""Nearest-neighbour answers asked for ahead of time (ids and distances in Chroma's own order), for the searches a
turn can know before its parse ends: the content reranker's search near the mean of a person's history depends on
that history alone, so it runs beside the parse (an LLM's seconds) and the turn takes its answer from here.

An answer for ``n`` results serves any later search of the same scene and vector for ``m <= n`` results as its first
``m``, when both stay within the collection's ``ef_search``: HNSW then searches with the same beam (``max(ef_search,
k)``) and keeps the ``k`` nearest of the same candidates, so the first ``m`` of ``n`` are what a search for ``m``
returns (checked on 100 office queries: 60 of 150 equal to a search for 60, ids and distances). Not when the
``m``-th and the next are tied: Chroma's brute-force part (items not yet in the HNSW index) then keeps either.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["Answer", "RecentSearches", "beam_of", "nearest"]

Answer = tuple[list[str], list[float]]
"""Ids and distances, nearest first, as Chroma returned them."""


def nearest(col: Any, vec: np.ndarray, n: int) -> Answer:
    """Chroma's ``n`` nearest items of a collection to ``vec``: ids and distances."""
    res = col.query(query_embeddings=[vec], n_results=n, include=["distances"])
    return list(res["ids"][0]), [float(d) for d in res["distances"][0]]


def beam_of(col: Any) -> int | None:
    """A collection's HNSW ``ef_search`` (None when its configuration does not say)."""
    config = getattr(col, "configuration_json", None) or {}
    beam = (config.get("hnsw") or {}).get("ef_search") if isinstance(config, dict) else None
    return beam if isinstance(beam, int) else None


def _key(scene: str, vector: np.ndarray) -> tuple[str, bytes]:
    """An answer's key: the scene and the query vector's float32 bytes."""
    return scene, np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class RecentSearches:
    """Answers asked for ahead of time, by scene and query vector (a few, newest kept).

    Args:
        size: how many answers to keep.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[str, bytes], tuple[int, Future[Answer]]] = OrderedDict()
        self._lock = threading.Lock()
        self._worker: ThreadPoolExecutor | None = None

    def ask(self, scene: str, vector: np.ndarray, n: int, query: Callable[[int], Answer]) -> None:
        """Starts ``query(n)`` in a background thread for ``scene`` and ``vector`` (nothing when an answer for at
        least ``n`` results is kept or on its way)."""
        key = _key(scene, vector)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] >= n:
                return
            self._worker = self._worker or ThreadPoolExecutor(1, thread_name_prefix="scenebridge-prefetch")
            self._kept[key] = (n, self._worker.submit(query, n))
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def answer(self, scene: str, vector: np.ndarray, n: int, beam: int | None) -> Answer | None:
        """The first ``n`` results of a kept answer for ``scene`` and ``vector`` (waiting for one on its way), or
        None: none kept, or one that is not the answer a search for ``n`` gives (``beam``: the collection's
        ``ef_search``, None when unknown: then only an answer for exactly ``n`` serves). A failed answer is None
        too (the caller's own search then says what failed)."""
        with self._lock:
            kept = self._kept.get(_key(scene, vector))
        if kept is None:
            return None
        size, future = kept
        if size != n and (beam is None or not n <= size <= beam):
            return None
        try:
            ids, dists = future.result()
        except Exception:  # the caller's own search meets the error and says what failed
            return None
        if n < len(dists) and dists[n - 1] == dists[n]:
            return None  # a tie across the cut: which of the tied items a search for n keeps is Chroma's to say
        return ids[:n], dists[:n]

    def clear(self) -> None:
        """Forgets every answer (the items changed, or a benchmark times searches with nothing shared)."""
        with self._lock:
            pending = [f for _, f in self._kept.values()]
            self._kept.clear()
        for future in pending:  # one still running would finish after the clear: let it, then drop nothing kept
            future.exception()

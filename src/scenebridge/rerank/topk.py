"""The exact top items by content for a query vector, without a float32 pass over every item.

Choosing a user's content candidates needs the ``depth`` target items whose vectors are nearest the user's query
vector — a product with the whole target matrix (19,757 x 512 float32 for Amazon office: 40 MB read per turn,
8 ms of a turn on a busy 2-core machine, more than the L3 cache holds). The checkpoint keeps its vectors as float16,
so a float16 copy of them holds the same numbers in half the bytes. One float16 product gives every item's score to
within a bound (the query's float16 rounding, and the product's own rounding); the items whose upper bound reaches
the ``depth``-th best lower bound are a short list that must hold the true top ``depth``, and they are scored again
in float32 exactly as the full product scores them. Where the short list's ``depth``-th and next scores are closer
than the rounding could tell apart, the full float32 product is used, so the set found is always the one the full
product finds (only the set matters: the candidates are its union with the other signals' tops).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

__all__ = ["ContentTop", "load_half_product"]

# The float16 product's error, in units of the float16 spacing at its result: measured at most 0.66 (float32
# accumulation and one rounding, 200 random queries against a float64 reference); 4 leaves room.
_ULPS = 4.0
_TIE = 1e-6


def load_half_product() -> bool:
    """Imports torch, when it is installed, so that every :class:`ContentTop` takes the float16 product: a
    long-lived process pays the import once at start-up (2.7 s of CPU measured) for a faster history turn; a one-shot
    call never imports it. True when torch is there."""
    from scenebridge.extras import available

    if not available("torch"):
        return False
    import torch  # noqa: F401

    return True


def _core_idle() -> bool:
    """Whether this thread is the machine's only runnable one now (``/proc/loadavg``'s 4th field, ~10 us to read;
    measured in a turn: 1 idle, 2 beside one CPU-bound process); False where it cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0]) <= 1
    except (OSError, IndexError, ValueError):
        return False


class ContentTop:
    """The best target items by content, for one matrix of unit target vectors.

    Args:
        targets: targets x D float32 vectors (C-contiguous, kept by reference).
        torch: the torch module for the float16 product (numpy has no fast one); None = torch if this process
            has imported it (a server that trains or evaluates), else the exact float32 product (the same set: a
            process that only answers does not import torch for it).
    """

    def __init__(self, targets: np.ndarray, torch: Any = None) -> None:
        self.targets = targets
        self.torch = torch
        half = targets.astype(np.float16)
        # Per row, how far the float16 copy is from the float32 vector (0 for a float16 checkpoint).
        # (float32 is enough: the float16 values are exact in it, and _TIE covers the norms' own rounding.)
        self._row_err = np.linalg.norm(half.astype(np.float32) - targets, axis=1)
        self._row_err_any = bool(self._row_err.any())
        self._row_norm = float(np.linalg.norm(half.astype(np.float32), axis=1).max()) if len(half) else 0.0
        self._half_np = half
        self._half: Any = None
        self.exact_fallbacks = 0
        self._cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def __call__(self, query: np.ndarray, depth: int) -> np.ndarray:
        """Users x ``depth`` target indices, best first, for users x D query vectors: the same set (and, but for
        exact ties, order) as the top ``depth`` of ``targets @ query.T``."""
        return np.stack([self._one(np.asarray(q, dtype=np.float32), depth) for q in query])

    def _one(self, q: np.ndarray, depth: int) -> np.ndarray:
        n = self.targets.shape[0]
        torch = self.torch or sys.modules.get("torch")
        if depth >= n:
            return self._full(q, depth)
        if torch is None:
            return self._exact(q, depth)
        if self._half is None:
            self._half = torch.from_numpy(self._half_np)
        qh = q.astype(np.float16)
        threads = torch.get_num_threads()
        # Two threads when a core is idle now (1.2 against 2.1 ms measured, the 20 MB read split in two); one
        # beside other work, where a second thread waits for a busy core (see llm.threads).
        torch.set_num_threads(2 if self._cores > 1 and _core_idle() else 1)
        try:
            approx = (self._half @ torch.from_numpy(qh)).numpy().astype(np.float32)
        finally:
            torch.set_num_threads(threads)
        q_err = float(np.linalg.norm(q.astype(np.float64) - qh.astype(np.float64)))
        # A float16 result's spacing is at most |x| / 1024 (2**-24 below the normal range); _TIE also covers
        # the float32 rounding of the bounds themselves.
        fixed = self._row_norm * q_err + _TIE + _ULPS * 2.0**-24
        margin = np.abs(approx) * np.float32(_ULPS / 1024)
        margin += self._row_err * float(np.linalg.norm(q)) + fixed if self._row_err_any else fixed
        lower, upper = approx - margin, approx + margin
        floor = np.partition(lower, n - depth)[n - depth]  # the depth-th best lower bound
        short = np.flatnonzero(upper >= floor)
        exact = (np.ascontiguousarray(self.targets[short]) @ q[:, None]).ravel()
        if len(short) > depth:
            part = np.partition(-exact, [depth - 1, depth])
            if part[depth] - part[depth - 1] <= _TIE:  # a near-tie at the edge: let the full product decide
                return self._full(q, depth)
        order = np.argsort(-exact, kind="stable")[:depth]
        return short[order]

    def _full(self, q: np.ndarray, depth: int) -> np.ndarray:
        self.exact_fallbacks += 1
        return self._exact(q, depth)

    def _exact(self, q: np.ndarray, depth: int) -> np.ndarray:
        scores = (self.targets @ q[:, None]).ravel()
        depth = min(depth, len(scores))
        part = np.argpartition(-scores, depth - 1)[:depth]
        return part[np.argsort(-scores[part], kind="stable")]

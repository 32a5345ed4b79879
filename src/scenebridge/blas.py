"""One BLAS thread while a turn's small matrix products run.

A turn's products are small (one person: 150 candidates x 512 dimensions, 20 history items). Two OpenBLAS threads
save nothing on them, and after each multi-threaded product OpenBLAS keeps its second thread spinning for about
100 ms (measured here: after one 150 x 512 x 20 product). On a 2-core machine that thread takes a whole core from
the turn's own worker threads (the store's search, the reranker's history pass) and from everything else the
computer runs. So a turn holds OpenBLAS to one thread.

Two things rule out threadpoolctl's own ``limit()`` context here. OpenBLAS's limit (pthreads build) is process-wide,
and threadpoolctl >= 3.6 lets only the first thread that set it change it again: a server's turns run in worker
threads, where ``limit()`` was silently a no-op (measured: the limit read 2 inside it). And two overlapping
``with limit():`` in two threads restore in the wrong order. :func:`one_thread` sets the limit itself and counts its
holders: the first one in sets one thread, the last one out puts back what was there before. (A threadpoolctl
context of the host's that overlaps a turn can still put its own number back in between.)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["one_thread"]

_lock = threading.Lock()
_holders = 0
_before: list[tuple[Any, int]] = []
_scanned: list[Any] = [-1, []]  # len(sys.modules) at the last scan, and what it found


def _libraries() -> list[Any]:
    """threadpoolctl's controllers of the BLAS libraries loaded now. The scan takes ~2 ms, so it is made again only
    when modules were imported since the last one (a BLAS library comes with an extension module: numpy's, then
    scipy's own copy)."""
    loaded = len(sys.modules)
    if _scanned[0] != loaded:
        import numpy  # noqa: F401  (its OpenBLAS must be loaded before the scan)
        from threadpoolctl import ThreadpoolController

        _scanned[:] = [
            len(sys.modules),
            [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"],
        ]
    return _scanned[1]


def _set(lib: Any, n: int) -> None:
    # threadpoolctl's OpenBLAS controller keeps the unguarded setter apart (see the module docstring); a library
    # without one (MKL, BLIS, an older threadpoolctl) has no such guard.
    getattr(lib, "_real_set_num_threads", lib.set_num_threads)(n)


@contextmanager
def one_thread() -> Iterator[None]:
    """Holds BLAS to one thread in this process until the last holder leaves (safe across threads and nesting)."""
    global _holders
    with _lock:
        if _holders == 0:
            _before[:] = [(lib, lib.get_num_threads()) for lib in _libraries()]
            for lib, _ in _before:
                _set(lib, 1)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                for lib, n in _before:
                    _set(lib, n)
                _before.clear()

"""One worker thread for the work a turn can do beside its own thread: the store's search beside the reranker's
candidates, the linking of mentions beside the interest's embedding (Chroma's query and numpy leave the GIL).

A turn that finds the worker taken (a server's concurrent turns) does the work itself, at once, in its own thread:
the worker never queues one turn behind another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

from scenebridge.blas import one_thread

__all__ = ["beside"]

T = TypeVar("T")

_WORKER_FREE = threading.Lock()
"""Held while a turn's work is in the worker."""


def beside(work: Callable[[], T]) -> Callable[[], T]:
    """Starts ``work`` in the worker when it is free, else runs it now; the returned function gives its answer
    (waiting for it), or raises what it raised."""
    if not _WORKER_FREE.acquire(blocking=False):
        answer = work()
        return lambda: answer
    try:
        future = _worker().submit(_freeing, work)
    except BaseException:
        _WORKER_FREE.release()
        raise
    return future.result


@cache
def _worker() -> ThreadPoolExecutor:
    """The process's one worker for the work that runs beside a turn's own thread."""
    return ThreadPoolExecutor(1, thread_name_prefix="scenebridge-beside")


def _freeing(work: Callable[[], T]) -> T:
    """``work()`` on one BLAS thread (as the turn's own products), then the worker is free for the next turn."""
    try:
        with one_thread():
            return work()
    finally:
        _WORKER_FREE.release()

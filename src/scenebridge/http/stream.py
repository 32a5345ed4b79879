"""A session turn as server-sent events: ``parsed``, ``ranked``, ``explained`` per item, then ``done`` or ``error``.

The turn itself is synchronous (:meth:`Recommender.turn` with ``on_event``); it runs in the server's thread pool and
hands each stage's output to the event loop through a queue, so the client sees the understanding as soon as parsing
ends instead of after the whole turn. Every event's data carries ``server_ms``, the server's wall clock (Unix ms) when
the event was handed over: a browser on the same machine compares it with its own ``Date``-based clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread

from scenebridge.agent.turn import OnEvent, TurnResult
from scenebridge.errors import ScenebridgeError

__all__ = ["EVENTS", "error_data", "sse", "stream_turn"]

log = logging.getLogger("scenebridge.http")

_RUNNING: set[asyncio.Future[None]] = set()
EVENTS = ("parsed", "ranked", "explained", "done", "error")
"""The event names, in the order a turn sends them (``explained`` once per item; ``error`` instead of the rest)."""


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (``event:`` and one ``data:`` line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def error_data(exc: BaseException) -> dict[str, Any]:
    """The error event's data: the same ``{"error": {"type", "message", "details"}}`` as the JSON API's errors."""
    if isinstance(exc, ScenebridgeError):
        lines = str(exc).splitlines() or [type(exc).__name__]
        return {"error": {"type": type(exc).__name__, "message": lines[0], "details": lines[1:]}}
    ref = uuid.uuid4().hex[:12]
    log.error("internal error %s in a streamed turn", ref, exc_info=exc)
    message = f"internal error (reference {ref}); the server log has the details"
    return {"error": {"type": "internal", "message": message, "details": []}}


def stream_turn(
    run: Callable[[OnEvent], TurnResult],
    after: Callable[[TurnResult], None] | None = None,
    finally_: Callable[[], None] | None = None,
) -> AsyncIterator[bytes]:
    """Starts the turn in a worker thread at once and returns its events as SSE bytes (call on the event loop).

    The turn starts here, not when the response is first read: a client that leaves before the first byte still
    has its turn finished and saved, and ``finally_`` (the turn gate's slot) always runs.

    Args:
        run: runs the turn with the given event callback (in a worker thread).
        after: called with the result in the worker thread before ``done`` is sent (the session's turn log).
        finally_: called in the worker thread when the turn is over, however it ended.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    def emit(event: str, data: dict[str, Any]) -> None:
        stamped = {**data, "server_ms": time.time() * 1000.0}
        loop.call_soon_threadsafe(queue.put_nowait, (event, stamped))

    def work() -> None:
        try:
            result = run(emit)
            if after is not None:
                after(result)
            emit("done", result.model_dump(mode="json"))
        except Exception as exc:  # every failure: one readable error event, never a cut stream
            emit("error", error_data(exc))
        finally:
            if finally_ is not None:
                finally_()
            loop.call_soon_threadsafe(queue.put_nowait, None)

    # The turn goes on if the client leaves (its session is saved as usual): the set keeps its task referenced.
    task = asyncio.ensure_future(anyio.to_thread.run_sync(work))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)

    async def events() -> AsyncIterator[bytes]:
        while (item := await queue.get()) is not None:
            yield sse(*item)
        await task

    return events()

"""A bounded admission gate for the turn endpoints: a few turns run at once, a bounded queue waits, the rest are shed.

A turn holds the LLM and the CPU for seconds; without a bound, 16 clients against a 2-core server all wait behind
each other and every one times out. The gate runs at most ``max_running`` turns, lets at most ``max_waiting`` more
wait up to ``wait_s`` seconds for a slot, and refuses the rest at once: :class:`~scenebridge.errors.OverloadError`
(HTTP 429 when the queue is full, 503 when the wait ran out), with a ``Retry-After`` estimated from recent turns.

The gate lives on the event loop (no lock: only the loop touches its state); waiting costs no worker thread, so
the thread pool only ever holds running turns. A slot is released from any thread (the streamed turn ends in one).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from scenebridge.errors import OverloadError

__all__ = ["Slot", "TurnGate"]

_RECENT = 32  # turn durations kept for the Retry-After estimate


class Slot:
    """One admitted turn's place in the gate; :meth:`release` gives it back (once, from any thread)."""

    def __init__(self, gate: TurnGate, loop: asyncio.AbstractEventLoop, waited_s: float) -> None:
        self.waited_s = waited_s
        self._gate, self._loop, self._start = gate, loop, time.monotonic()
        self._lock = threading.Lock()
        self._released = False

    def release(self) -> None:
        """Frees the slot for the next waiting turn; later calls do nothing."""
        with self._lock:
            if self._released:
                return
            self._released = True
        elapsed = time.monotonic() - self._start
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._gate._leave(elapsed)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._gate._leave, elapsed)


class TurnGate:
    """At most ``max_running`` turns at once, ``max_waiting`` more queued for up to ``wait_s`` seconds each.

    Args:
        max_running: turns run at once.
        max_waiting: turns that may wait for a slot (0: none wait, a busy gate refuses at once).
        wait_s: the longest a queued turn waits before it is refused.
        on_shed: called with ``"queue_full"`` or ``"queue_timeout"`` for every refused turn (the metrics).
    """

    def __init__(
        self, max_running: int, max_waiting: int, wait_s: float, on_shed: Callable[[str], None] | None = None
    ) -> None:
        self.max_running, self.max_waiting, self.wait_s = max_running, max_waiting, wait_s
        self.on_shed = on_shed
        self._running = 0
        self._queue: deque[asyncio.Future[None]] = deque()
        self._recent: deque[float] = deque(maxlen=_RECENT)

    @property
    def running(self) -> int:
        """Turns running now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Turns queued for a slot now (the queue depth)."""
        return sum(1 for f in self._queue if not f.done())

    def retry_after(self) -> int:
        """Whole seconds until a new request is likely admitted: the recent median turn time per queued turn."""
        typical = sorted(self._recent)[len(self._recent) // 2] if self._recent else 1.0
        return max(1, min(600, math.ceil(typical * (self.waiting + 1) / self.max_running)))

    async def enter(self) -> Slot:
        """Waits for a slot and returns it.

        Raises:
            OverloadError: at once when ``max_waiting`` turns already wait (``waited`` False, HTTP 429), or when no
                slot came within ``wait_s`` seconds (``waited`` True, HTTP 503).
        """
        loop = asyncio.get_running_loop()
        if self._running < self.max_running and not self.waiting:
            self._running += 1
            return Slot(self, loop, 0.0)
        if self.waiting >= self.max_waiting:
            self._shed("queue_full")
            msg = (f"the server is busy: {self._running} turns running and {self.waiting} waiting (the most it "
                   f"queues); retry in about {self.retry_after()} s")  # fmt: skip
            raise OverloadError(msg, retry_after=self.retry_after())
        start = time.monotonic()
        ticket: asyncio.Future[None] = loop.create_future()
        self._queue.append(ticket)
        try:
            # asyncio.wait, not wait_for: a slot handed over just as the wait ends must not be lost.
            await asyncio.wait({ticket}, timeout=self.wait_s)
        except BaseException:  # the request was cancelled (its client left) while it waited
            self._abandon(ticket)
            raise
        if not ticket.done():
            self._abandon(ticket)
            self._shed("queue_timeout")
            msg = f"the server is busy: no turn slot within {self.wait_s:g} s; retry in about {self.retry_after()} s"
            raise OverloadError(msg, retry_after=self.retry_after(), waited=True)
        return Slot(self, loop, time.monotonic() - start)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """``async with gate.slot():`` runs the body in an admitted slot and releases it afterwards."""
        held = await self.enter()
        try:
            yield held
        finally:
            held.release()

    def _abandon(self, ticket: asyncio.Future[None]) -> None:
        if ticket.done() and not ticket.cancelled():
            self._leave(None)  # it had been handed a slot: pass it on
        else:
            ticket.cancel()
        with suppress(ValueError):  # already taken off the queue by the release that handed it a slot
            self._queue.remove(ticket)

    def _leave(self, elapsed: float | None) -> None:
        if elapsed is not None:
            self._recent.append(elapsed)
        while self._queue:
            ticket = self._queue.popleft()
            if not ticket.done():
                ticket.set_result(None)  # the slot passes straight to the longest waiting turn
                return
        self._running -= 1

    def _shed(self, reason: str) -> None:
        if self.on_shed is not None:
            self.on_shed(reason)

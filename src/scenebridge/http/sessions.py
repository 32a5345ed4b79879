"""Which user owns which HTTP session, and each session's turn log (in memory, bounded)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from scenebridge.errors import UsageError
from scenebridge.http.schemas import SessionInfo, TurnLog

__all__ = ["SessionRecord", "SessionRegistry"]


@dataclass
class SessionRecord:
    """One HTTP session: its owner, starting scene and the last turns."""

    session_id: str
    owner: str
    scene: str | None
    created: float
    turns: deque[TurnLog] = field(default_factory=deque)
    exclusions: list[str] = field(default_factory=list)
    last_scene: str | None = None

    def info(self) -> SessionInfo:
        """The session as its owner sees it."""
        return SessionInfo(session_id=self.session_id, user_id=self.owner, created=self.created,
                           scene=self.last_scene or self.scene, exclusions=list(self.exclusions),
                           turns=list(self.turns))  # fmt: skip


class SessionRegistry:
    """Sessions by id; a session is only ever visible to the user who opened it.

    Args:
        max_sessions: sessions kept, least recently used dropped first.
        per_user: open sessions one user may hold.
        log: turns remembered per session.
    """

    def __init__(self, max_sessions: int = 10_000, per_user: int = 100, log: int = 50) -> None:
        self.max_sessions, self.per_user, self.log = max_sessions, per_user, log
        self._items: OrderedDict[str, SessionRecord] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, owner: str, scene: str | None) -> SessionRecord:
        """Opens a session for ``owner``.

        Raises:
            UsageError: when the user already holds ``per_user`` sessions.
        """
        with self._lock:
            if sum(r.owner == owner for r in self._items.values()) >= self.per_user:
                msg = f"user {owner!r} has {self.per_user} open sessions; delete one first"
                raise UsageError(msg)
            rec = SessionRecord(uuid.uuid4().hex, owner, scene, time.time(), deque(maxlen=self.log))
            self._items[rec.session_id] = rec
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)
            return rec

    def get(self, session_id: str, owner: str) -> SessionRecord | None:
        """The session if it exists *and* belongs to ``owner`` (otherwise None: others' sessions are invisible)."""
        with self._lock:
            rec = self._items.get(session_id)
            if rec is None or rec.owner != owner:
                return None
            self._items.move_to_end(session_id)
            return rec

    def drop(self, session_id: str, owner: str) -> bool:
        """Deletes one of ``owner``'s sessions; False when there is none by that id for them."""
        with self._lock:
            rec = self._items.get(session_id)
            if rec is None or rec.owner != owner:
                return False
            del self._items[session_id]
            return True

    def drop_user(self, owner: str) -> list[str]:
        """Deletes every session of a user; returns their ids."""
        with self._lock:
            ids = [sid for sid, r in self._items.items() if r.owner == owner]
            for sid in ids:
                del self._items[sid]
            return ids

    def __len__(self) -> int:
        return len(self._items)

"""The two tables a serving process keeps state in, as protocols: sessions (one row each) and profile events.

:class:`~scenebridge.agent.session.SessionStore` and :class:`~scenebridge.store.profiles.ProfileStore` hold the
rules (ownership, caps, expiry, what a history is); a backend only stores rows. Every method is one short statement
or transaction, safe to call from any thread; two processes on one backend see each other's writes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

__all__ = ["EventRow", "EventRows", "SessionRow", "SessionRows"]


class SessionRow(NamedTuple):
    """One stored session: its owner, when it was last used, its state as JSON, and its revision."""

    user_id: str | None
    last_used: float
    data: str
    rev: int


class EventRow(NamedTuple):
    """One profile event as stored."""

    user_id: str
    item_id: str
    scene: str
    kind: str
    ts: float


class SessionRows(Protocol):
    """The sessions table. ``rev`` counts the saves of a row, so a process can tell that another one wrote it."""

    where: str

    def save(self, session_id: str, user_id: str | None, last_used: float, data: str) -> int:
        """Writes (or replaces) one session's row; returns its new revision."""
        ...

    def load(self, session_id: str) -> SessionRow | None:
        """One session's row, or None."""
        ...

    def touch(self, session_id: str, last_used: float) -> int | None:
        """Marks a session used; returns its revision, or None when it has no row."""
        ...

    def delete(self, session_id: str) -> bool:
        """Deletes a session; True when a row went."""
        ...

    def delete_user(self, user_id: str) -> list[str]:
        """Deletes every session of one user; returns their ids."""
        ...

    def count(self, user_id: str | None = None, *, any_user: bool = True) -> int:
        """Sessions stored (all of them, or with ``any_user=False`` those of ``user_id``, None included)."""
        ...

    def expire(self, before: float) -> list[str]:
        """Deletes sessions last used before ``before``; returns their ids."""
        ...

    def evict(self, keep: int) -> list[str]:
        """Deletes the least recently used sessions beyond ``keep``; returns their ids."""
        ...

    def close(self) -> None:
        """Closes the connection(s); what was written stays."""
        ...


class EventRows(Protocol):
    """The profile events table, oldest first per user (ties kept in insertion order)."""

    where: str

    def add(self, rows: Sequence[EventRow]) -> None:
        """Appends events (one transaction)."""
        ...

    def replace_history(self, users: Sequence[str], rows: Sequence[EventRow]) -> None:
        """Drops these users' ``history`` events and appends ``rows`` (one transaction)."""
        ...

    def events(self, user_id: str) -> list[EventRow]:
        """All events of one user, oldest first."""
        ...

    def users(self) -> list[str]:
        """Every user with at least one event, sorted."""
        ...

    def forget(self, user_id: str) -> int:
        """Deletes every event of one user; returns how many went."""
        ...

    def close(self) -> None:
        """Closes the connection(s); what was written stays."""
        ...

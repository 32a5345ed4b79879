"""Where sessions and profile events are kept: SQLite files by default, PostgreSQL when ``[state] url`` is set.

Both backends implement the protocols of :mod:`scenebridge.state.base`; the session and profile stores above them
keep the rules, so a session behaves the same on either. PostgreSQL is for several ``serve`` processes that share
users (behind one load balancer): a session started on one continues on another, feedback given to one is used by
all of them.
"""

from __future__ import annotations

from pathlib import Path

from scenebridge.state.base import EventRow, EventRows, SessionRow, SessionRows
from scenebridge.state.postgres import PostgresEvents, PostgresSessions, is_postgres_url
from scenebridge.state.sqlite import SQLiteEvents, SQLiteSessions

__all__ = ["EventRow", "EventRows", "SessionRow", "SessionRows", "event_rows", "is_postgres_url", "session_rows"]


def session_rows(target: str | Path | SessionRows) -> SessionRows:
    """The sessions table at ``target``: a ``postgresql://`` URL, a SQLite file, or a table already open."""
    if isinstance(target, str | Path):
        return PostgresSessions(str(target)) if is_postgres_url(target) else SQLiteSessions(target)
    return target


def event_rows(target: str | Path | EventRows) -> EventRows:
    """The profile events table at ``target``: a ``postgresql://`` URL, a SQLite file (or ``:memory:``), or a table
    already open."""
    if isinstance(target, str | Path):
        return PostgresEvents(str(target)) if is_postgres_url(target) else SQLiteEvents(target)
    return target

"""The state tables in SQLite files: the default backend of one machine (``[agent] profiles`` and ``sessions``).

A server's thread pool uses a file opened in the main thread, so each table shares one connection across threads
(``check_same_thread=False``) under one lock, as the embedding cache does: every statement is a short primary-key or
index query. WAL journaling lets a second process (a ``chat`` beside a ``serve``) read while one writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scenebridge.errors import StoreError, UsageError
from scenebridge.state.base import EventRow, SessionRow

__all__ = ["SQLiteEvents", "SQLiteSessions"]


def _connect(path: str | Path, what: str) -> sqlite3.Connection:
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(str(path), check_same_thread=False, timeout=10)
    except (OSError, sqlite3.Error) as exc:
        msg = f"cannot open the {what} {path} ({exc}); check that its folder is writable"
        raise UsageError(msg) from None


class SQLiteSessions:
    """The ``sessions`` table of one SQLite file (may be the profiles database: its own table).

    Args:
        path: the SQLite file (created with its folder).
    """

    def __init__(self, path: str | Path) -> None:
        self._db = _connect(path, "session store")
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses no commit
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, user_id TEXT,"
                " last_used REAL NOT NULL, data TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)"
            )
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(sessions)")}
            if "rev" not in columns:  # a file written before revisions were kept
                self._db.execute("ALTER TABLE sessions ADD COLUMN rev INTEGER NOT NULL DEFAULT 1")
            self._db.execute("CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)")
            self._db.execute("CREATE INDEX IF NOT EXISTS sessions_used ON sessions (last_used)")
            self._db.commit()
        except sqlite3.Error as exc:
            msg = f"cannot open the session store {path} ({exc}); check that its folder is writable"
            raise UsageError(msg) from None
        self.where = str(path)
        self._lock = threading.Lock()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction; a failed one (disk full, read-only) is one StoreError naming the file."""
        try:
            with self._lock, self._db:
                yield
        except sqlite3.Error as exc:
            msg = f"cannot write the session store {self.where} ({exc}); free some disk space or make it writable"
            raise StoreError(msg) from None

    def save(self, session_id: str, user_id: str | None, last_used: float, data: str) -> int:
        """Writes (or replaces) one session's row; returns its new revision."""
        with self._writing():
            rows = self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, 1) ON CONFLICT (session_id) DO UPDATE SET"
                " user_id = excluded.user_id, last_used = excluded.last_used, data = excluded.data,"
                " rev = sessions.rev + 1 RETURNING rev",
                (session_id, user_id, last_used, data),
            ).fetchall()
        return int(rows[0][0])

    def load(self, session_id: str) -> SessionRow | None:
        """One session's row, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT user_id, last_used, data, rev FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        return None if row is None else SessionRow(row[0], float(row[1]), str(row[2]), int(row[3]))

    def touch(self, session_id: str, last_used: float) -> int | None:
        """Marks a session used now; returns its revision, or None when it has no row."""
        with self._writing():
            rows = self._db.execute(
                "UPDATE sessions SET last_used = ? WHERE session_id = ? RETURNING rev", (last_used, session_id)
            ).fetchall()
        return int(rows[0][0]) if rows else None

    def delete(self, session_id: str) -> bool:
        """Deletes a session; True when a row went."""
        with self._writing():
            cur = self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
        return cur.rowcount > 0

    def delete_user(self, user_id: str) -> list[str]:
        """Deletes every session of one user; returns their ids."""
        with self._writing():
            rows = self._db.execute("DELETE FROM sessions WHERE user_id = ? RETURNING session_id", (user_id,))
            return [r[0] for r in rows.fetchall()]

    def count(self, user_id: str | None = None, *, any_user: bool = True) -> int:
        """Sessions stored (all of them, or with ``any_user=False`` those of ``user_id``)."""
        with self._lock:
            if any_user:
                row = self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()
            else:
                row = self._db.execute("SELECT COUNT(*) FROM sessions WHERE user_id IS ?", (user_id,)).fetchone()
        return int(row[0])

    def expire(self, before: float) -> list[str]:
        """Deletes sessions last used before ``before``; returns their ids."""
        with self._writing():
            rows = self._db.execute("DELETE FROM sessions WHERE last_used < ? RETURNING session_id", (before,))
            return [r[0] for r in rows.fetchall()]

    def evict(self, keep: int) -> list[str]:
        """Deletes the least recently used sessions beyond ``keep``; returns their ids."""
        with self._writing():
            over = int(self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]) - keep  # cheap; a walk is not
            if over <= 0:
                return []
            ids = [r[0] for r in self._db.execute(
                "SELECT session_id FROM sessions ORDER BY last_used LIMIT ?", (over,)
            )]  # fmt: skip
            self._db.executemany("DELETE FROM sessions WHERE session_id = ?", [(i,) for i in ids])
        return ids

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()


class SQLiteEvents:
    """The ``events`` table of one SQLite file (the profile store's).

    Args:
        path: the SQLite file (created with its folder), or ``":memory:"``.
    """

    def __init__(self, path: str | Path) -> None:
        self._db = _connect(path, "profile store")
        try:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS events (user_id TEXT NOT NULL, item_id TEXT NOT NULL, scene TEXT NOT NULL,"
                " kind TEXT NOT NULL, ts REAL NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS events_user ON events (user_id, ts)")
            self._db.commit()
        except sqlite3.Error as exc:
            msg = f"cannot open the profile store {path} ({exc}); check that its folder is writable"
            raise UsageError(msg) from None
        self.where = str(path)
        self._lock = threading.Lock()

    def add(self, rows: Sequence[EventRow]) -> None:
        """Appends events (one transaction: a write that fails, e.g. on a full disk, leaves none of them)."""
        try:
            with self._lock, self._db:
                self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            msg = f"cannot write the profile store {self.where} ({exc}); free some disk space or make it writable"
            raise StoreError(msg) from None

    def replace_history(self, users: Sequence[str], rows: Sequence[EventRow]) -> None:
        """Drops these users' ``history`` events and appends ``rows`` (one transaction)."""
        with self._lock, self._db:
            self._db.executemany("DELETE FROM events WHERE user_id = ? AND kind = 'history'", [(u,) for u in users])
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)

    def events(self, user_id: str) -> list[EventRow]:
        """All events of one user, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, item_id, scene, kind, ts FROM events WHERE user_id = ? ORDER BY ts, rowid", (user_id,)
            ).fetchall()
        return [EventRow(*r) for r in rows]

    def users(self) -> list[str]:
        """Every user with at least one event, sorted."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT user_id FROM events ORDER BY user_id")]

    def forget(self, user_id: str) -> int:
        """Deletes every event of one user; returns how many went."""
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
        return int(cur.rowcount)

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()

"""Sessions on disk: one SQLite row per session (its owner, when it was last used, its state as JSON).

:class:`~scenebridge.agent.session.SessionStore` keeps live sessions in memory and writes each one here after every
turn, so a restarted ``serve``, ``chat`` or ``mcp`` continues the conversations it had. This module only stores rows;
what a session's JSON holds is the session module's business.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from scenebridge.errors import UsageError

__all__ = ["SessionDB"]


class SessionDB:
    """The sessions table of one SQLite file (thread-safe).

    A server's thread pool uses the file opened in the main thread, so the one connection is shared across threads
    (``check_same_thread=False``) under one lock, as the profile store and the embedding cache do: each statement is
    a short primary-key or index query. WAL journaling lets a second process (a ``chat`` beside a ``serve``) read
    while one writes.

    Args:
        path: the SQLite file (created with its folder); may be the profiles database (its own table).
    """

    def __init__(self, path: str | Path) -> None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses no commit
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, user_id TEXT,"
                " last_used REAL NOT NULL, data TEXT NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)")
            self._db.execute("CREATE INDEX IF NOT EXISTS sessions_used ON sessions (last_used)")
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            msg = f"cannot open the session store {path} ({exc}); check that its folder is writable"
            raise UsageError(msg) from None
        self.path = str(path)
        self._lock = threading.Lock()

    def save(self, session_id: str, user_id: str | None, last_used: float, data: str) -> None:
        """Writes (or replaces) one session's row."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)", (session_id, user_id, last_used, data)
            )

    def load(self, session_id: str) -> tuple[str | None, float, str] | None:
        """One session's ``(user_id, last_used, data)``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT user_id, last_used, data FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        return None if row is None else (row[0], float(row[1]), str(row[2]))

    def touch(self, session_id: str, last_used: float) -> None:
        """Marks a session used now (a read counts as use for the idle expiry)."""
        with self._lock, self._db:
            self._db.execute("UPDATE sessions SET last_used = ? WHERE session_id = ?", (last_used, session_id))

    def delete(self, session_id: str) -> bool:
        """Deletes a session; True when a row went."""
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
        return cur.rowcount > 0

    def delete_user(self, user_id: str) -> list[str]:
        """Deletes every session of one user; returns their ids."""
        with self._lock, self._db:
            ids = [r[0] for r in self._db.execute("SELECT session_id FROM sessions WHERE user_id = ?", (user_id,))]
            self._db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        return ids

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
        with self._lock, self._db:
            ids = [r[0] for r in self._db.execute("SELECT session_id FROM sessions WHERE last_used < ?", (before,))]
            self._db.execute("DELETE FROM sessions WHERE last_used < ?", (before,))
        return ids

    def evict(self, keep: int) -> list[str]:
        """Deletes the least recently used sessions beyond ``keep``; returns their ids."""
        with self._lock, self._db:
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

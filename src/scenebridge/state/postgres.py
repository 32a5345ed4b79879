"""The state tables in PostgreSQL (``[state] url = "postgresql://..."``): several ``serve`` processes share users.

Each process keeps a small pool of connections (a worker thread borrows one per statement or transaction), so the
server's thread pool never shares a connection and never opens one per request. The tables are named
``scenebridge_sessions`` and ``scenebridge_events`` so they can live in a database that holds other tables. The
schema is made once, under an advisory lock, so processes starting together do not race. A lost connection is
dropped with the idle ones and its call answers a :class:`~scenebridge.errors.StoreError` (a 503 on the HTTP API,
not retried: a write whose answer was lost may have been committed); the next call connects again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scenebridge.errors import StoreError, UsageError
from scenebridge.extras import missing
from scenebridge.state.base import EventRow, SessionRow

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresEvents", "PostgresSessions", "is_postgres_url"]

_SCHEMA_LOCK = 0x5CEB71D6  # pg_advisory_xact_lock key: one process creates the tables at a time
_SESSIONS = "scenebridge_sessions"
_EVENTS = "scenebridge_events"
_COLUMNS = "user_id, item_id, scene, kind, ts"


def is_postgres_url(target: object) -> bool:
    """True for a ``postgresql://`` or ``postgres://`` URL (the state goes to PostgreSQL)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class _Pool:
    """At most ``size`` connections to one database, lent one at a time to a thread."""

    def __init__(self, url: str, size: int) -> None:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise missing("postgres", "sessions and profiles in PostgreSQL ([state] url)") from None
        try:
            parts = conninfo_to_dict(url)
        except psycopg.Error as exc:
            msg = f"bad PostgreSQL URL for [state] url ({exc}); use postgresql://USER@HOST:PORT/DATABASE"
            raise UsageError(msg) from None
        # Never the password: this is what messages name.
        self.where = (
            f"postgresql://{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
        )
        self._url, self._psycopg = url, psycopg
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return self._psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except self._psycopg.Error as exc:
            msg = (
                f"cannot reach the PostgreSQL state store at {self.where} ({str(exc).strip()[:200]}); check that the "
                "server runs and [state] url (SCENEBRIDGE_STATE_URL)"
            )
            raise StoreError(msg) from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one statement or transaction; a failed one is closed, not lent again."""
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            if conn.closed or conn.broken:  # a connection psycopg gave up on is never lent again
                conn = self._connect()
            try:
                yield conn
            except self._psycopg.Error as exc:
                conn.close()
                if isinstance(exc, self._psycopg.OperationalError):
                    self.close()  # the server went away: the idle connections are dead too; the next call reconnects
                msg = f"the PostgreSQL state store at {self.where} failed ({type(exc).__name__}: {str(exc)[:200]})"
                raise StoreError(msg) from None
            except BaseException:
                conn.close()
                raise
            self._idle.put(conn)

    def schema(self, *statements: str) -> None:
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for sql in statements:
                conn.execute(sql)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def _key(value: str | None) -> bool:
    """PostgreSQL text holds no NUL character: such a key can never have been stored."""
    return value is None or "\x00" not in value


class PostgresSessions:
    """The sessions table in PostgreSQL.

    Args:
        url: ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`` (any libpq URL).
        pool: connections this process may hold.
    """

    def __init__(self, url: str, pool: int = 8) -> None:
        self._pool = _Pool(url, pool)
        self.where = self._pool.where
        self._pool.schema(
            f"CREATE TABLE IF NOT EXISTS {_SESSIONS} (session_id TEXT PRIMARY KEY, user_id TEXT,"
            " last_used DOUBLE PRECISION NOT NULL, data TEXT NOT NULL, rev BIGINT NOT NULL DEFAULT 1)",
            f"CREATE INDEX IF NOT EXISTS {_SESSIONS}_user ON {_SESSIONS} (user_id)",
            f"CREATE INDEX IF NOT EXISTS {_SESSIONS}_used ON {_SESSIONS} (last_used)",
        )

    def _all(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(sql, args).fetchall()

    def save(self, session_id: str, user_id: str | None, last_used: float, data: str) -> int:
        """Writes (or replaces) one session's row; returns its new revision."""
        rows = self._all(
            f"INSERT INTO {_SESSIONS} VALUES (%s, %s, %s, %s, 1) ON CONFLICT (session_id) DO UPDATE SET"
            " user_id = EXCLUDED.user_id, last_used = EXCLUDED.last_used, data = EXCLUDED.data,"
            f" rev = {_SESSIONS}.rev + 1 RETURNING rev",
            (session_id, user_id, last_used, data),
        )
        return int(rows[0][0])

    def load(self, session_id: str) -> SessionRow | None:
        """One session's row, or None."""
        if not _key(session_id):
            return None
        rows = self._all(f"SELECT user_id, last_used, data, rev FROM {_SESSIONS} WHERE session_id = %s", (session_id,))
        return None if not rows else SessionRow(rows[0][0], float(rows[0][1]), str(rows[0][2]), int(rows[0][3]))

    def touch(self, session_id: str, last_used: float) -> int | None:
        """Marks a session used now; returns its revision, or None when it has no row."""
        if not _key(session_id):
            return None
        rows = self._all(
            f"UPDATE {_SESSIONS} SET last_used = %s WHERE session_id = %s RETURNING rev", (last_used, session_id)
        )
        return int(rows[0][0]) if rows else None

    def delete(self, session_id: str) -> bool:
        """Deletes a session; True when a row went."""
        if not _key(session_id):
            return False
        return bool(self._all(f"DELETE FROM {_SESSIONS} WHERE session_id = %s RETURNING 1", (session_id,)))

    def delete_user(self, user_id: str) -> list[str]:
        """Deletes every session of one user; returns their ids."""
        if not _key(user_id):
            return []
        return [r[0] for r in self._all(f"DELETE FROM {_SESSIONS} WHERE user_id = %s RETURNING session_id", (user_id,))]

    def count(self, user_id: str | None = None, *, any_user: bool = True) -> int:
        """Sessions stored (all of them, or with ``any_user=False`` those of ``user_id``)."""
        if any_user:
            return int(self._all(f"SELECT COUNT(*) FROM {_SESSIONS}", ())[0][0])
        if not _key(user_id):
            return 0
        sql = f"SELECT COUNT(*) FROM {_SESSIONS} WHERE user_id IS NOT DISTINCT FROM %s"
        return int(self._all(sql, (user_id,))[0][0])

    def expire(self, before: float) -> list[str]:
        """Deletes sessions last used before ``before``; returns their ids."""
        return [
            r[0] for r in self._all(f"DELETE FROM {_SESSIONS} WHERE last_used < %s RETURNING session_id", (before,))
        ]

    def evict(self, keep: int) -> list[str]:
        """Deletes the least recently used sessions beyond ``keep``; returns their ids."""
        sql = (
            f"DELETE FROM {_SESSIONS} WHERE session_id IN (SELECT session_id FROM {_SESSIONS} ORDER BY last_used"
            f" LIMIT GREATEST((SELECT COUNT(*) FROM {_SESSIONS}) - %s, 0)) RETURNING session_id"
        )
        return [r[0] for r in self._all(sql, (keep,))]

    def close(self) -> None:
        """Closes this process's connections."""
        self._pool.close()


class PostgresEvents:
    """The profile events table in PostgreSQL (``id`` keeps events of one timestamp in insertion order).

    Args:
        url: ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`` (any libpq URL).
        pool: connections this process may hold.
    """

    def __init__(self, url: str, pool: int = 8) -> None:
        self._pool = _Pool(url, pool)
        self.where = self._pool.where
        self._pool.schema(
            f"CREATE TABLE IF NOT EXISTS {_EVENTS} (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL,"
            " item_id TEXT NOT NULL, scene TEXT NOT NULL, kind TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {_EVENTS}_user ON {_EVENTS} (user_id, ts)",
        )

    def _copy(self, conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> None:
        # COPY: an imported dataset's histories (100k+ rows) go in one round trip, not one INSERT each.
        with conn.cursor() as cur, cur.copy(f"COPY {_EVENTS} ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def add(self, rows: Sequence[EventRow]) -> None:
        """Appends events (one transaction)."""
        with self._pool.connection() as conn, conn.transaction():
            self._copy(conn, rows)

    def replace_history(self, users: Sequence[str], rows: Sequence[EventRow]) -> None:
        """Drops these users' ``history`` events and appends ``rows`` (one transaction)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {_EVENTS} WHERE user_id = ANY(%s) AND kind = 'history'", (list(users),))
            self._copy(conn, rows)

    def events(self, user_id: str) -> list[EventRow]:
        """All events of one user, oldest first."""
        if not _key(user_id):
            return []
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM {_EVENTS} WHERE user_id = %s ORDER BY ts, id",
                (user_id,),
            ).fetchall()
        return [EventRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows]

    def users(self) -> list[str]:
        """Every user with at least one event, sorted."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                f'SELECT user_id FROM {_EVENTS} GROUP BY user_id ORDER BY user_id COLLATE "C"'
            ).fetchall()
        return [str(r[0]) for r in rows]

    def forget(self, user_id: str) -> int:
        """Deletes every event of one user; returns how many went."""
        if not _key(user_id):
            return 0
        with self._pool.connection() as conn:
            return int(conn.execute(f"DELETE FROM {_EVENTS} WHERE user_id = %s", (user_id,)).rowcount)

    def close(self) -> None:
        """Closes this process's connections."""
        self._pool.close()

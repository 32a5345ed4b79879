"""Cross-scene user profiles: what each user did in every scene, and their feedback, in SQLite.

A turn reads a user's history in other scenes from here (the reranker's ``RerankQuery.history``) and the items they
rejected (never recommended again); the ``record_feedback`` tool writes to it. ``forget(user)`` deletes a user
everywhere in this store.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from scenebridge.errors import UsageError
from scenebridge.settings import data_home

__all__ = ["FEEDBACK_KINDS", "FeedbackKind", "ProfileEvent", "ProfileStore", "default_profiles_path"]

FeedbackKind = Literal["history", "view", "like", "purchase", "dislike"]
FEEDBACK_KINDS: tuple[str, ...] = get_args(FeedbackKind)
_POSITIVE = ("history", "view", "like", "purchase")
MAX_USER_ID = 200


def default_profiles_path() -> Path:
    """``data_home()/profiles.sqlite``."""

    return data_home() / "profiles.sqlite"


@dataclass(frozen=True)
class ProfileEvent:
    """One thing a user did: an item in a scene, and what kind of signal it is."""

    user_id: str
    item_id: str
    scene: str
    kind: str
    ts: float


def _check_user(user_id: str) -> str:
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID:
        msg = f"a user id must be 1..{MAX_USER_ID} characters of text, got {user_id!r:.60}"
        raise UsageError(msg)
    return user_id.strip()


class ProfileStore:
    """Users' histories and feedback across scenes (thread-safe; one SQLite file).

    A server's thread pool uses the store opened in the main thread, so the one connection is shared across threads
    (``check_same_thread=False``) and every statement runs under one lock, as in the embedding cache.

    Args:
        path: the SQLite file (created with its folder), or ``":memory:"``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        target = default_profiles_path() if path is None else path
        try:
            if str(target) != ":memory:":
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(target), check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS events (user_id TEXT NOT NULL, item_id TEXT NOT NULL, scene TEXT NOT NULL,"
                " kind TEXT NOT NULL, ts REAL NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS events_user ON events (user_id, ts)")
        except (OSError, sqlite3.Error) as exc:
            msg = f"cannot open the profile store {target} ({exc}); check that its folder is writable"
            raise UsageError(msg) from None
        self.path = str(target)
        self._lock = threading.Lock()

    def record(self, user_id: str, item_id: str, scene: str, kind: str = "like", ts: float | None = None) -> None:
        """Adds one event (``kind`` one of history, view, like, purchase, dislike)."""
        self.record_many(user_id, [(item_id, scene)], kind, ts)

    def record_many(
        self, user_id: str, items: Iterable[tuple[str, str]], kind: str = "history", ts: float | None = None
    ) -> int:
        """Adds events for ``(item_id, scene)`` pairs in order; returns how many were written."""
        user = _check_user(user_id)
        if kind not in FEEDBACK_KINDS:
            msg = f"unknown feedback kind {kind!r}; use one of: {', '.join(FEEDBACK_KINDS)}"
            raise UsageError(msg)
        start = time.time() if ts is None else ts
        rows = [(user, str(i), str(s), kind, start + n * 1e-6) for n, (i, s) in enumerate(items)]
        with self._lock, self._db:
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def import_interactions(self, rows: Iterable[tuple[str, str, str, float]], replace: bool = True) -> int:
        """Loads histories from a dataset: ``(user_id, item_id, scene, order)`` rows, ``order`` ascending in time.

        With ``replace``, each imported user's earlier ``history`` events are dropped first (feedback is kept), so
        importing twice does not duplicate. Returns the number of events written.
        """
        data = [(str(u), str(i), str(s), "history", float(o)) for u, i, s, o in rows]
        users = sorted({r[0] for r in data})
        with self._lock, self._db:
            if replace:
                self._db.executemany("DELETE FROM events WHERE user_id = ? AND kind = 'history'", [(u,) for u in users])
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", data)
        return len(data)

    def events(self, user_id: str) -> list[ProfileEvent]:
        """All events of one user, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, item_id, scene, kind, ts FROM events WHERE user_id = ? ORDER BY ts, rowid",
                (_check_user(user_id),),
            ).fetchall()
        return [ProfileEvent(*r) for r in rows]

    def history(self, user_id: str, exclude_scene: str | None = None) -> list[str]:
        """Item ids the user engaged with positively, oldest first, without repeats, minus disliked items.

        Args:
            user_id: the user.
            exclude_scene: leave out this scene's items (the reranker wants history in *other* scenes).
        """
        events = self.events(user_id)
        disliked = {e.item_id for e in events if e.kind == "dislike"}
        items = [e.item_id for e in events if e.kind in _POSITIVE and e.scene != exclude_scene]
        return [i for i in dict.fromkeys(items) if i not in disliked]

    def disliked(self, user_id: str) -> set[str]:
        """Item ids the user rejected (a later like of the same item lifts the rejection)."""
        state: dict[str, bool] = {}
        for e in self.events(user_id):
            if e.kind == "dislike":
                state[e.item_id] = True
            elif e.kind in ("like", "purchase"):
                state[e.item_id] = False
        return {i for i, bad in state.items() if bad}

    def users(self) -> list[str]:
        """Every user with at least one event."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT user_id FROM events ORDER BY user_id")]

    def forget(self, user_id: str) -> int:
        """Deletes every event of one user; returns how many were deleted."""
        user = _check_user(user_id)
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM events WHERE user_id = ?", (user,))
        return int(cur.rowcount)

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()

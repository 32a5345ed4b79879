"""Cross-scene user profiles: what each user did in every scene, and their feedback (SQLite or PostgreSQL).

A turn reads a user's history in other scenes from here (the reranker's ``RerankQuery.history``) and the items they
rejected (never recommended again); the ``record_feedback`` tool writes to it. ``forget(user)`` deletes a user
everywhere in this store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from scenebridge.errors import UsageError
from scenebridge.settings import data_home
from scenebridge.state import EventRow, EventRows, event_rows

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
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID or "\x00" in user_id:
        msg = f"a user id must be 1..{MAX_USER_ID} characters of text, got {user_id!r:.60}"
        raise UsageError(msg)
    return user_id.strip()


class ProfileStore:
    """Users' histories and feedback across scenes (thread-safe), in a SQLite file or PostgreSQL.

    The events live in a :class:`~scenebridge.state.base.EventRows` table (:mod:`scenebridge.state`): a SQLite
    file by default, whose one connection the server's thread pool shares under a lock, or PostgreSQL, which
    several ``serve`` processes share. What a history or a dislike is stays here, the same on both.

    Args:
        path: the SQLite file (created with its folder), ``":memory:"``, a ``postgresql://`` URL, or a table.
    """

    def __init__(self, path: str | Path | EventRows | None = None) -> None:
        self._rows = event_rows(default_profiles_path() if path is None else path)
        self.path = self._rows.where

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
        rows = [EventRow(user, str(i), str(s), kind, start + n * 1e-6) for n, (i, s) in enumerate(items)]
        self._rows.add(rows)
        return len(rows)

    def import_interactions(self, rows: Iterable[tuple[str, str, str, float]], replace: bool = True) -> int:
        """Loads histories from a dataset: ``(user_id, item_id, scene, order)`` rows, ``order`` ascending in time.

        With ``replace``, each imported user's earlier ``history`` events are dropped first (feedback is kept), so
        importing twice does not duplicate. Returns the number of events written.
        """
        data = [EventRow(str(u), str(i), str(s), "history", float(o)) for u, i, s, o in rows]
        if replace:
            self._rows.replace_history(sorted({r.user_id for r in data}), data)
        else:
            self._rows.add(data)
        return len(data)

    def events(self, user_id: str) -> list[ProfileEvent]:
        """All events of one user, oldest first."""
        return [ProfileEvent(*r) for r in self._rows.events(_check_user(user_id))]

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
        return self._rows.users()

    def forget(self, user_id: str) -> int:
        """Deletes every event of one user; returns how many were deleted."""
        return self._rows.forget(_check_user(user_id))

    def close(self) -> None:
        """Closes the database."""
        self._rows.close()

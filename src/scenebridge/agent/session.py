"""Multi-turn sessions: what a conversation has established, and how a follow-up refines it.

What a follow-up changes is read in :mod:`scenebridge.agent.followup` (cues) and :mod:`scenebridge.agent.delta`
(the state delta, by the LLM or the lexical reader); a session holds the dialogue state it builds up.

Sessions live in memory and, given a file or a URL, in a sessions table too (:mod:`scenebridge.state`: SQLite, or
PostgreSQL shared by several processes): each is written after every turn, so a restarted process, or another one on
the same table, continues its conversations; they expire after an idle time and go with ``forget``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from scenebridge.agent.session_data import Session, TurnRecord
from scenebridge.errors import StoreError, UsageError
from scenebridge.state import SessionRows, session_rows

__all__ = ["Session", "SessionStore", "TurnRecord"]

log = logging.getLogger("scenebridge.sessions")


_Use = Literal["fresh", "stale", "gone"]


def _check_user(user_id: str | None) -> None:
    if user_id is not None and "\x00" in user_id:
        msg = "a user id must be text without NUL characters"
        raise UsageError(msg)


class SessionStore:
    """The one session store: live sessions in memory by id, and with a ``path`` on disk as well.

    A session belongs to the user who made it: another user can neither use it (:meth:`get` refuses) nor see it
    (:meth:`find` answers None, as for a missing id). :meth:`open` is how a face lets a user start one, capped at
    ``per_user``; :meth:`get` makes one on the fly for a one-off turn or a local chat. Beyond ``max_sessions`` the
    least recently used go; one unused for ``idle_hours`` is gone.

    With a ``path`` (a SQLite file or a ``postgresql://`` URL) :meth:`save` writes a session after each turn and a
    later process reads it back: sessions survive a restart, the caps and expiry count what is stored. In one process
    a session is one :class:`Session` whose ``lock`` serialises its turns. Processes on one table continue from the
    last turn any of them wrote: each save moves the row's revision on, and a process whose copy is behind reads it
    back before using it; one ended by another process is gone here too. Two turns of one session at the same moment
    in two processes: the later write wins.

    Args:
        max_sessions: sessions kept.
        per_user: sessions one user may :meth:`open`.
        turn_log: turns each session remembers (:meth:`log_turn`).
        path: the SQLite file, a ``postgresql://`` URL or a table; None or ``":memory:"`` = memory only (tests,
            one-off tools).
        idle_hours: a session unused this long is dropped; None = never.
    """

    def __init__(
        self,
        max_sessions: int = 10_000,
        per_user: int = 100,
        turn_log: int = 50,
        path: str | Path | SessionRows | None = None,
        idle_hours: float | None = None,
    ) -> None:
        self.max_sessions, self.per_user, self.turn_log = max_sessions, per_user, turn_log
        self.idle_hours = idle_hours
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._owned: Counter[str | None] = Counter()  # sessions per user in memory: the cap without a scan
        self._lock = threading.Lock()
        self._db = session_rows(path) if path is not None and str(path) != ":memory:" else None
        self._swept = 0.0
        self._unsaved: set[str] = set()  # made by get() and not yet on disk: len() counts them without a scan

    @property
    def path(self) -> str | None:
        """The SQLite file or the database (never its password), or None in memory-only mode."""
        return self._db.where if self._db is not None else None

    def configure(self, *, max_sessions: int, per_user: int, turn_log: int) -> None:
        """New limits (a face's ``[api]`` settings); sessions beyond the new size and turns beyond the new log go."""
        with self._lock:
            self.max_sessions, self.per_user, self.turn_log = max_sessions, per_user, turn_log
            for sess in self._sessions.values():
                if sess.log.maxlen != turn_log:
                    sess.log = deque(sess.log, maxlen=turn_log)
            self._evict()
            self._sweep(force=True)

    def get(self, session_id: str | None, user_id: str | None) -> Session:
        """The session with this id (created when new, expired or None).

        Raises:
            UsageError: for a bad id, or a session of another user.
        """
        if session_id is not None and (not session_id.strip() or len(session_id) > 200 or "\x00" in session_id):
            msg = "a session id must be 1..200 characters"
            raise UsageError(msg)
        _check_user(user_id)
        with self._lock:
            sid = session_id or uuid.uuid4().hex
            sess = self._lookup(sid)
            if sess is not None and sess.user_id != user_id:
                msg = f"session {sid!r} belongs to another user; start a new session"
                raise UsageError(msg)
            use = self._use(sess) if sess is not None else "gone"
            if sess is None or use == "gone":
                sess = self._add(Session(sid, user_id, log=deque(maxlen=self.turn_log)))
                self._unsaved.add(sid)
                self._use(sess)
        if use == "stale":
            self._refresh(sess)
        return sess

    def open(self, user_id: str | None, scene: str | None = None) -> Session:
        """Opens a new session for ``user_id``, starting in ``scene`` (on disk at once, with a ``path``).

        Raises:
            UsageError: when the user already holds ``per_user`` sessions.
        """
        _check_user(user_id)
        with self._lock:
            self._sweep()
            held = self._db.count(user_id, any_user=False) if self._db is not None else self._owned[user_id]
            if held >= self.per_user:
                msg = f"user {user_id!r} has {self.per_user} open sessions; delete one first"
                raise UsageError(msg)
            sess = self._add(Session(uuid.uuid4().hex, user_id, start_scene=scene, log=deque(maxlen=self.turn_log)))
            self._write(sess, sess.dump())
            return sess

    def find(self, session_id: str, user_id: str | None) -> Session | None:
        """The session if it exists *and* belongs to ``user_id`` (otherwise None: others' sessions are invisible)."""
        with self._lock:
            sess = self._lookup(session_id)
            if sess is None or sess.user_id != user_id:
                return None
            use = self._use(sess)
        if use == "gone":
            return None
        if use == "stale":
            self._refresh(sess)
        return sess

    def save(self, sess: Session) -> None:
        """Writes a session to disk (nothing in memory only), holding ``sess.lock``; one dropped meanwhile is not."""
        if self._db is None:
            return
        data = sess.dump()  # outside the store's lock: only this session's turn is blocked
        with self._lock:
            if self._sessions.get(sess.session_id) is sess:
                try:
                    self._write(sess, data)
                except StoreError:
                    # The row on disk is the truth: the next use reloads it, so a turn the caller was told failed
                    # does not live on in memory.
                    sess.rev = -1
                    raise
                self._sweep()

    def edit(self, sess: Session, *, scene: str | None = None, remove_exclusions: Sequence[str] = ()) -> Session:
        """Edits what a session has established (a face's "change the scene" / "remove this exclusion"), holding its
        lock (not while one of its turns runs), and saves it. The scene is checked by the caller."""
        drop = {e.strip().lower() for e in remove_exclusions}
        with sess.lock:
            if scene is not None:
                sess.scene = scene
                if not sess.turns:
                    sess.start_scene = scene
            if sess.summary is not None:
                # The summary's scene is what a follow-up keeps: it must move with the session's.
                sess.summary.scene = scene or sess.summary.scene
                sess.summary.exclusions = [e for e in sess.summary.exclusions if e.strip().lower() not in drop]
            self.save(sess)
        return sess

    def log_turn(self, session_id: str, record: TurnRecord) -> bool:
        """Appends a turn to a session's log (the oldest beyond ``turn_log`` goes) and saves it; False when gone."""
        with self._lock:
            sess = self._sessions.get(session_id)
            if sess is None:
                return False
        with sess.lock:
            sess.log.append(record)
            self.save(sess)
        return True

    def drop(self, session_id: str, user_id: str | None = None) -> bool:
        """Ends a session; True if it existed. With ``user_id``, only when it is theirs (else False, untouched)."""
        with self._lock:
            sess = self._lookup(session_id)
            if sess is None or (user_id is not None and sess.user_id != user_id):
                return False
            self._remove(session_id)
            return True

    def drop_user(self, user_id: str) -> int:
        """Ends every session of one user, in memory and on disk (used when forgetting a user); returns how many."""
        with self._lock:
            ids = {sid for sid, s in self._sessions.items() if s.user_id == user_id}
            ids |= set(self._db.delete_user(user_id)) if self._db is not None else set()
            for sid in ids:
                self._remove(sid)
            return len(ids)

    def __len__(self) -> int:
        with self._lock:
            return self._db.count() + len(self._unsaved) if self._db is not None else len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return isinstance(session_id, str) and self._lookup(session_id) is not None

    def close(self) -> None:
        """Closes the session table (what was saved stays)."""
        if self._db is not None:
            self._db.close()

    def _refresh(self, sess: Session) -> None:
        """Reads back a session another process wrote since this copy was (after a turn of this process on it: the
        store's lock is not held, as a turn takes ``sess.lock`` before the store's)."""
        if self._db is None:
            return
        with sess.lock:
            row = self._db.load(sess.session_id)
            if row is None or row.rev == sess.rev:
                return
            try:
                fresh = Session.load(sess.session_id, row.user_id, row.last_used, row.data, self.turn_log)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning(
                    "session %s as another process wrote it is unreadable (%s); kept as it was", sess.session_id, exc
                )
                return
            fresh.rev = row.rev
            sess.adopt(fresh)

    # -- under self._lock ----------------------------------------------------------------------------------------

    def _expired(self, last_used: float) -> bool:
        return self.idle_hours is not None and time.time() - last_used > self.idle_hours * 3600

    def _lookup(self, sid: str) -> Session | None:
        """The live session, else the one on disk (loaded into memory); an expired one is dropped (None)."""
        sess = self._sessions.get(sid)
        if sess is None and self._db is not None:
            row = self._db.load(sid)
            if row is None:
                return None
            try:
                sess = Session.load(sid, row.user_id, row.last_used, row.data, self.turn_log)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("session %s on disk is unreadable (%s); dropped", sid, exc)
                self._db.delete(sid)
                return None
            sess.rev = row.rev
            self._add(sess)
        if sess is not None and self._expired(sess.last_used):
            self._remove(sid)
            return None
        return sess

    def _use(self, sess: Session) -> _Use:
        """Marks a session used; whether its stored row is this copy's, newer (another process wrote it) or gone
        (another process ended it: then it goes here too)."""
        sess.last_used = time.time()
        self._sessions.move_to_end(sess.session_id)
        if self._db is None or sess.session_id in self._unsaved:
            return "fresh"
        rev = self._db.touch(sess.session_id, sess.last_used)  # the one statement a use costs, as before
        if rev is None:
            self._remove(sess.session_id)
            return "gone"
        return "fresh" if rev == sess.rev else "stale"

    def _write(self, sess: Session, data: str) -> None:
        """Saves a session; on disk too the least recently used beyond ``max_sessions`` go."""
        if self._db is not None:
            sess.rev = self._db.save(sess.session_id, sess.user_id, sess.last_used, data)
            self._unsaved.discard(sess.session_id)
            self._evict()

    def _sweep(self, force: bool = False) -> None:
        """Drops expired sessions, in memory and on disk (at most once a minute unless forced)."""
        now = time.time()
        if self.idle_hours is None or (not force and now - self._swept < 60):
            return
        self._swept = now
        gone = [sid for sid, s in self._sessions.items() if self._expired(s.last_used)]
        if self._db is not None:
            gone += self._db.expire(now - self.idle_hours * 3600)
        for sid in set(gone):
            self._remove(sid)

    def _add(self, sess: Session) -> Session:
        self._sessions[sess.session_id] = sess
        self._owned[sess.user_id] += 1
        self._evict()
        return sess

    def _remove(self, session_id: str) -> None:
        """Drops a session from memory and disk."""
        sess = self._sessions.pop(session_id, None)
        self._unsaved.discard(session_id)
        if sess is not None:
            self._owned[sess.user_id] -= 1
            if self._owned[sess.user_id] <= 0:
                del self._owned[sess.user_id]
        if self._db is not None:
            self._db.delete(session_id)

    def _evict(self) -> None:
        """The least recently used beyond ``max_sessions`` go: in memory, and on disk (which may hold more)."""
        while len(self._sessions) > self.max_sessions:
            self._remove(next(iter(self._sessions)))
        for sid in self._db.evict(self.max_sessions) if self._db is not None else ():
            self._remove(sid)

"""Multi-turn sessions: what a conversation has established, and how a follow-up refines it.

Follow-ups are read deterministically (no LLM): "not office paper" / "不要办公纸" adds an exclusion, "cheaper" /
"便宜点" adds a constraint, "more like the second one" / "更像第二个" anchors the interest on a shown item, and a
statement naming another scene moves the session there.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from scenebridge.agent.summary import InterestSummary
from scenebridge.errors import UsageError

__all__ = ["Refinement", "Session", "SessionStore", "TurnRecord", "read_refinement"]

_ORDINALS_EN = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
                "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}  # fmt: skip
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_MORE_LIKE = re.compile(
    r"\b(?:more|others?|something|things|items?|ones?)\s+like\s+(?:the\s+|that\s+|number\s+|#\s*|no\.?\s*)?"
    r"(?P<en>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d+)(?:st|nd|rd|th)?\b"
    r"|(?:更像|类似|像|和|跟)第\s*(?P<zh>[一二两三四五六七八九十]|\d+)\s*(?:个|款|件|项|种)",
    re.IGNORECASE,
)
_CHEAPER = re.compile(
    r"\b(?:cheaper|less expensive|lower price|budget|inexpensive)\b|便宜|实惠|低价|划算", re.IGNORECASE
)
_NEGATION_START = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:not|no|without|except|exclude|excluding|skip|avoid|none of)\b"
    r"|^\s*(?:也|还)?(?:不要|别|除了|排除|不想要)",
    re.IGNORECASE,
)
_FILLER = re.compile(r"\b(?:please|pls|thanks|ones?|items?|options?|stuff|show me|give me|some)\b|[请吧呢的了些点一]",
                     re.IGNORECASE)  # fmt: skip


@dataclass
class Refinement:
    """What a follow-up asks to change."""

    more_like: int | None = None  # 1-based position in the last results (-1 = the last one)
    cheaper: bool = False
    negation: bool = False

    @property
    def any(self) -> bool:
        return self.more_like is not None or self.cheaper or self.negation


def read_refinement(statement: str) -> Refinement:
    """Reads refinement cues in a follow-up statement (English or Chinese)."""
    ref = Refinement()
    m = _MORE_LIKE.search(statement)
    if m:
        if m.group("en"):
            word = m.group("en").lower()
            ref.more_like = int(word) if word.isdigit() else _ORDINALS_EN[word]
        else:
            zh = m.group("zh")
            ref.more_like = int(zh) if zh.isdigit() else _ZH_DIGITS[zh]
    ref.cheaper = bool(_CHEAPER.search(statement))
    ref.negation = bool(_NEGATION_START.search(statement))
    return ref


def is_pure_refinement(statement: str, ref: Refinement) -> bool:
    """True when a follow-up only refines (nothing new to parse with an LLM): short, and made of refinement cues."""
    if not ref.any:
        return False
    rest = _MORE_LIKE.sub(" ", statement)
    rest = _CHEAPER.sub(" ", rest)
    rest = _FILLER.sub(" ", rest)
    return ref.negation or (len(rest.split()) <= 3 and len(re.sub(r"\W", "", rest)) <= 12)


@dataclass
class TurnRecord:
    """What one turn of a session said and answered (one entry of the session's bounded turn log)."""

    statement: str
    scene: str
    item_ids: list[str]
    refinements: list[str]
    reply: str


@dataclass
class Session:
    """What a conversation has established so far.

    Attributes:
        session_id: the id.
        user_id: the user it belongs to (None for anonymous).
        scene: the current target scene.
        summary: the current interest summary (topics, exclusions, constraints).
        anchor: an item the user asked for "more like", if any (id, title).
        anchor_vector: that item's vector.
        shown: item ids of the last results, in order.
        turns: how many turns it has had.
        created: when it was made (Unix seconds).
        start_scene: the scene it was opened in, used by its first turn when that names none.
        log: its last turns, oldest first (bounded by the store's ``turn_log``).
    """

    session_id: str
    user_id: str | None = None
    scene: str | None = None
    summary: InterestSummary | None = None
    anchor: tuple[str, str] | None = None
    anchor_vector: np.ndarray | None = None
    shown: list[str] = field(default_factory=list)
    turns: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    created: float = field(default_factory=time.time)
    start_scene: str | None = None
    log: deque[TurnRecord] = field(default_factory=deque, repr=False)

    def info(self) -> dict[str, Any]:
        """The session as its owner sees it: id, user, created, scene, exclusions and the logged turns."""
        records = list(self.log)  # one C-level copy: safe while a turn appends
        return {
            "session_id": self.session_id,
            "user_id": self.user_id,
            "created": self.created,
            "scene": self.scene or self.start_scene,
            "exclusions": list(self.summary.exclusions) if self.summary is not None else [],
            "turns": [asdict(r) for r in records],
        }


class SessionStore:
    """The one session store: sessions in memory by id, least recently used dropped beyond ``max_sessions``.

    A session belongs to the user who made it: another user can neither use it (:meth:`get` refuses) nor see it
    (:meth:`find` answers None, as for a missing id). :meth:`open` is how a face lets a user start one, capped at
    ``per_user``; :meth:`get` makes one on the fly for a one-off turn or a local chat.

    Args:
        max_sessions: sessions kept.
        per_user: sessions one user may :meth:`open`.
        turn_log: turns each session remembers (:meth:`log_turn`).
    """

    def __init__(self, max_sessions: int = 10_000, per_user: int = 100, turn_log: int = 50) -> None:
        self.max_sessions, self.per_user, self.turn_log = max_sessions, per_user, turn_log
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._owned: Counter[str | None] = Counter()  # sessions per user: the cap is checked without a scan
        self._lock = threading.Lock()

    def configure(self, *, max_sessions: int, per_user: int, turn_log: int) -> None:
        """New limits (a face's ``[api]`` settings); sessions beyond the new size and turns beyond the new log go."""
        with self._lock:
            self.max_sessions, self.per_user, self.turn_log = max_sessions, per_user, turn_log
            for sess in self._sessions.values():
                if sess.log.maxlen != turn_log:
                    sess.log = deque(sess.log, maxlen=turn_log)
            self._evict()

    def get(self, session_id: str | None, user_id: str | None) -> Session:
        """The session with this id (created when new or None).

        Raises:
            UsageError: for a bad id, or a session of another user.
        """
        if session_id is not None and (not session_id.strip() or len(session_id) > 200):
            msg = "a session id must be 1..200 characters"
            raise UsageError(msg)
        with self._lock:
            sid = session_id or uuid.uuid4().hex
            sess = self._sessions.get(sid)
            if sess is None:
                sess = self._add(Session(sid, user_id, log=deque(maxlen=self.turn_log)))
            elif sess.user_id != user_id:
                msg = f"session {sid!r} belongs to another user; start a new session"
                raise UsageError(msg)
            self._sessions.move_to_end(sid)
            return sess

    def open(self, user_id: str | None, scene: str | None = None) -> Session:
        """Opens a new session for ``user_id``, starting in ``scene``.

        Raises:
            UsageError: when the user already holds ``per_user`` sessions.
        """
        with self._lock:
            if self._owned[user_id] >= self.per_user:
                msg = f"user {user_id!r} has {self.per_user} open sessions; delete one first"
                raise UsageError(msg)
            sess = Session(uuid.uuid4().hex, user_id, start_scene=scene, log=deque(maxlen=self.turn_log))
            return self._add(sess)

    def find(self, session_id: str, user_id: str | None) -> Session | None:
        """The session if it exists *and* belongs to ``user_id`` (otherwise None: others' sessions are invisible)."""
        with self._lock:
            sess = self._sessions.get(session_id)
            if sess is None or sess.user_id != user_id:
                return None
            self._sessions.move_to_end(session_id)
            return sess

    def log_turn(self, session_id: str, record: TurnRecord) -> bool:
        """Appends a turn to a session's log (the oldest beyond ``turn_log`` goes); False when it is gone."""
        with self._lock:
            sess = self._sessions.get(session_id)
            if sess is None:
                return False
            sess.log.append(record)
            return True

    def drop(self, session_id: str, user_id: str | None = None) -> bool:
        """Ends a session; True if it existed. With ``user_id``, only when it is theirs (else False, untouched)."""
        with self._lock:
            sess = self._sessions.get(session_id)
            if sess is None or (user_id is not None and sess.user_id != user_id):
                return False
            self._remove(session_id)
            return True

    def drop_user(self, user_id: str) -> int:
        """Ends every session of one user (used when forgetting a user); returns how many."""
        with self._lock:
            ids = [sid for sid, s in self._sessions.items() if s.user_id == user_id]
            for sid in ids:
                self._remove(sid)
            return len(ids)

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def _add(self, sess: Session) -> Session:
        self._sessions[sess.session_id] = sess
        self._owned[sess.user_id] += 1
        self._evict()
        return sess

    def _remove(self, session_id: str) -> None:
        sess = self._sessions.pop(session_id)
        self._owned[sess.user_id] -= 1
        if self._owned[sess.user_id] <= 0:
            del self._owned[sess.user_id]

    def _evict(self) -> None:
        while len(self._sessions) > self.max_sessions:
            self._remove(next(iter(self._sessions)))

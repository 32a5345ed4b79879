"""Multi-turn sessions: what a conversation has established, and how a follow-up refines it.

Follow-ups are read deterministically (no LLM): "not office paper" / "不要办公纸" adds an exclusion, "cheaper" /
"便宜点" adds a constraint, "more like the second one" / "更像第二个" anchors the interest on a shown item, and a
statement naming another scene moves the session there.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from scenebridge.agent.summary import InterestSummary
from scenebridge.errors import UsageError

__all__ = ["Refinement", "Session", "SessionStore", "read_refinement"]

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


class SessionStore:
    """Sessions in memory, keyed by id, least recently used dropped beyond ``max_sessions``.

    A session belongs to the user who opened it: using its id with another user id is refused.
    """

    def __init__(self, max_sessions: int = 10_000, per_user: int = 100) -> None:
        self.max_sessions = max_sessions
        self.per_user = per_user
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None, user_id: str | None) -> Session:
        """The session with this id (created when new or None)."""
        if session_id is not None and (not session_id.strip() or len(session_id) > 200):
            msg = "a session id must be 1..200 characters"
            raise UsageError(msg)
        with self._lock:
            sid = session_id or uuid.uuid4().hex
            sess = self._sessions.get(sid)
            if sess is None:
                sess = Session(sid, user_id)
                self._sessions[sid] = sess
                while len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
            elif sess.user_id != user_id:
                msg = f"session {sid!r} belongs to another user; start a new session"
                raise UsageError(msg)
            self._sessions.move_to_end(sid)
            return sess

    def drop(self, session_id: str) -> bool:
        """Ends a session; True if it existed."""
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def drop_user(self, user_id: str) -> int:
        """Ends every session of one user (used when forgetting a user); returns how many."""
        with self._lock:
            ids = [sid for sid, s in self._sessions.items() if s.user_id == user_id]
            for sid in ids:
                del self._sessions[sid]
            return len(ids)

    def __len__(self) -> int:
        return len(self._sessions)

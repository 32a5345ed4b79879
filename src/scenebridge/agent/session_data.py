"""A session's data: what a conversation has established (:class:`Session`), one logged turn (:class:`TurnRecord`),
and the JSON form in which :class:`~scenebridge.agent.session.SessionStore` stores a session.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from scenebridge.agent.state import DialogueState, LinkedItem
from scenebridge.agent.summary import InterestSummary

__all__ = ["Session", "TurnRecord"]


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
        anchor_vector: that item's vector (not persisted: re-read from the item store by the next turn).
        shown: item ids of the last results, in order.
        turns: how many turns it has had.
        created: when it was made (Unix seconds).
        start_scene: the scene it was opened in, used by its first turn when that names none.
        log: its last turns, oldest first (bounded by the store's ``turn_log``).
        last_used: when a face last used it (Unix seconds; the idle expiry counts from here).
        linked: catalogue items what the person said they did was linked to (kept across turns).
        seen: items they said they have seen or have (not shown again unless asked).
        liked: items liked in this session.
        disliked: items disliked in this session.
        rev: the revision of its stored row this copy holds (another process's write moves the row's on).
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
    last_used: float = field(default_factory=time.time)
    linked: list[LinkedItem] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    rev: int = field(default=0, repr=False, compare=False)

    def state(self) -> DialogueState:
        """The dialogue state as data (a copy)."""
        return DialogueState(
            scene=self.scene, summary=self.summary.model_copy(deep=True) if self.summary is not None else None,
            linked=[x.model_copy() for x in self.linked], shown=list(self.shown), seen=list(self.seen),
            liked=list(self.liked), disliked=list(self.disliked),
        )  # fmt: skip

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

    def dump(self) -> str:
        """The session's state as JSON (what :class:`SessionStore` writes to disk; no lock, no anchor vector)."""
        return json.dumps({
            "scene": self.scene, "start_scene": self.start_scene,
            "summary": self.summary.model_dump(mode="json") if self.summary is not None else None,
            "anchor": list(self.anchor) if self.anchor is not None else None, "shown": list(self.shown),
            "turns": self.turns, "created": self.created, "log": [vars(r) for r in list(self.log)],
            "linked": [x.model_dump(mode="json") for x in self.linked], "seen": list(self.seen),
            "liked": list(self.liked), "disliked": list(self.disliked),
        }, ensure_ascii=False)  # fmt: skip

    @classmethod
    def load(cls, session_id: str, user_id: str | None, last_used: float, data: str, turn_log: int) -> Session:
        """A session from :meth:`dump`'s JSON.

        Raises:
            ValueError: (or KeyError, TypeError) for JSON that is not a dumped session.
        """
        d = json.loads(data)
        summary = InterestSummary.model_validate(d["summary"]) if d.get("summary") is not None else None
        anchor = (str(d["anchor"][0]), str(d["anchor"][1])) if d.get("anchor") else None
        return cls(
            session_id, user_id, scene=d.get("scene"), summary=summary, anchor=anchor,
            shown=[str(i) for i in d.get("shown", [])], turns=int(d.get("turns", 0)),
            created=float(d.get("created", last_used)), start_scene=d.get("start_scene"),
            log=deque((TurnRecord(**r) for r in d.get("log", [])), maxlen=turn_log), last_used=last_used,
            linked=[LinkedItem.model_validate(x) for x in d.get("linked", [])],
            seen=[str(i) for i in d.get("seen", [])], liked=[str(i) for i in d.get("liked", [])],
            disliked=[str(i) for i in d.get("disliked", [])],
        )  # fmt: skip

    def adopt(self, other: Session) -> None:
        """Takes over another copy's state and revision in place (its id, owner and lock stay)."""
        for f in fields(self):
            if f.name not in ("session_id", "user_id", "lock"):
                setattr(self, f.name, getattr(other, f.name))

"""The one session store (agent/session.py): ownership, the per-user cap, LRU eviction, the bounded turn log, and
the regression for the desync between the HTTP registry and the agent's store above 10,000 sessions."""

from __future__ import annotations

import pytest

from scenebridge.agent.session import SessionStore, TurnRecord
from scenebridge.agent.summary import InterestSummary
from scenebridge.build import build_recommender
from scenebridge.errors import UsageError
from scenebridge.settings import ApiSettings, Settings
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit

MANY = 10_050  # above the agent store's old fixed 10,000


def _record(n: int) -> TurnRecord:
    return TurnRecord(statement=f"turn {n}", scene="office", item_ids=[f"o{n}"], refinements=[], reply="ok")


def _open_many(sessions: SessionStore, n: int) -> list[tuple[str, str]]:
    users = [f"user-{i % 200}" for i in range(n)]  # about 50 each: under the per-user cap
    return [(sessions.open(user).session_id, user) for user in users]


def test_every_session_the_settings_allow_is_kept_above_10000():
    cfg = ApiSettings(max_sessions=MANY)
    sessions = SessionStore(max_sessions=cfg.max_sessions, per_user=cfg.max_sessions_per_user, turn_log=cfg.turn_log)
    opened = _open_many(sessions, MANY)
    assert len(sessions) == MANY
    missing = [sid for sid, user in opened if sessions.find(sid, user) is None]
    assert missing == []
    first_sid, first_user = opened[0]
    first = sessions.find(first_sid, first_user)
    assert sessions.get(first_sid, first_user) is first  # the agent continues it; no fresh session in its place
    assert len(sessions) == MANY
    sessions.open("late")  # one more: the least recently used goes, and only it
    assert len(sessions) == MANY
    assert sessions.find(opened[1][0], opened[1][1]) is None
    assert sessions.find(first_sid, first_user) is first


def test_build_sizes_the_agents_one_store_from_api(tmp_path):
    api = ApiSettings(max_sessions=MANY, max_sessions_per_user=60, turn_log=7)
    rec = build_recommender(settings=Settings(api=api), store=build_store(tmp_path), llm=None, reranker=None,
                            profiles=None)  # fmt: skip
    assert (rec.sessions.max_sessions, rec.sessions.per_user, rec.sessions.turn_log) == (MANY, 60, 7)
    opened = _open_many(rec.sessions, MANY)
    sid, user = opened[0]  # the oldest, the first an undersized store would have dropped
    result = rec.turn("watercolor paper for the office", user_id=user, session_id=sid)
    assert result.session_id == sid
    assert rec.sessions.find(sid, user).turns == 1
    assert len(rec.sessions) == MANY


def test_per_user_cap_on_open_only():
    sessions = SessionStore(per_user=2)
    first = sessions.open("amy", "office")
    sessions.open("amy")
    with pytest.raises(UsageError, match="'amy' has 2 open sessions; delete one first"):
        sessions.open("amy")
    sessions.open("bob")
    assert sessions.get(None, "amy").user_id == "amy"  # a one-off turn's session is not refused
    assert sessions.drop(first.session_id, "amy")
    sessions.drop_user("amy")
    sessions.open("amy")  # the count follows drops


def test_another_users_session_is_invisible_and_untouchable():
    sessions = SessionStore()
    sess = sessions.open("ann")
    assert sessions.find(sess.session_id, "ann") is sess
    assert sessions.find(sess.session_id, "eve") is None
    assert sessions.find("0" * 32, "eve") is None
    assert not sessions.drop(sess.session_id, "eve")
    assert not sessions.log_turn("0" * 32, _record(1))
    with pytest.raises(UsageError, match="belongs to another user"):
        sessions.get(sess.session_id, "eve")
    assert sess.session_id in sessions
    assert sessions.drop(sess.session_id, "ann")
    assert not sessions.drop(sess.session_id, "ann")


def test_least_recently_used_goes_first():
    sessions = SessionStore(max_sessions=3)
    a, b, c = (sessions.open(u) for u in "abc")
    assert sessions.find(a.session_id, "a") is a  # using it makes it recent
    sessions.open("d")
    assert b.session_id not in sessions
    assert a.session_id in sessions
    assert c.session_id in sessions
    sessions.get(c.session_id, "c")
    sessions.open("e")
    assert a.session_id not in sessions
    assert c.session_id in sessions


def test_turn_log_is_bounded_and_info_has_the_http_shape():
    sessions = SessionStore(turn_log=2)
    sess = sessions.open("ann", "office")
    info = sess.info()
    assert info["scene"] == "office"  # the starting scene until a turn moves it
    assert (info["exclusions"], info["turns"], info["user_id"]) == ([], [], "ann")
    for n in range(3):
        assert sessions.log_turn(sess.session_id, _record(n))
    sess.scene, sess.summary = "art", InterestSummary(exclusions=["paper"])
    info = sess.info()
    assert [t["statement"] for t in info["turns"]] == ["turn 1", "turn 2"]
    assert info["turns"][0] == {"statement": "turn 1", "scene": "office", "item_ids": ["o1"], "refinements": [],
                                "reply": "ok"}  # fmt: skip
    assert (info["scene"], info["exclusions"]) == ("art", ["paper"])
    assert info["created"] == sess.created


def test_configure_applies_new_limits():
    sessions = SessionStore()
    opened = [sessions.open(f"u{i}") for i in range(5)]
    for n in range(4):
        sessions.log_turn(opened[-1].session_id, _record(n))
    sessions.configure(max_sessions=2, per_user=1, turn_log=3)
    assert len(sessions) == 2
    assert [s.session_id in sessions for s in opened] == [False, False, False, True, True]
    assert len(opened[-1].log) == 3
    assert sessions.open("new").log.maxlen == 3
    with pytest.raises(UsageError, match="1 open sessions"):
        sessions.open("u4")


def test_bad_session_ids_are_refused():
    sessions = SessionStore()
    for bad in ("", "  ", "x" * 201):
        with pytest.raises(UsageError, match=r"1\.\.200 characters"):
            sessions.get(bad, None)

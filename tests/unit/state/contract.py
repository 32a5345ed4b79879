"""What every state backend must do, written once: the SQLite unit tests and the PostgreSQL integration test run
these same checks (each ``check_*`` takes a ``target``, a SQLite file or a ``postgresql://`` URL of an empty
database, and opens what it needs on it, as processes would)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from scenebridge.agent.session import SessionStore, TurnRecord
from scenebridge.agent.summary import InterestSummary
from scenebridge.errors import UsageError
from scenebridge.state import EventRow, event_rows, session_rows
from scenebridge.store.profiles import ProfileStore

__all__ = ["CHECKS"]


def _record(n: int) -> TurnRecord:
    return TurnRecord(statement=f"turn {n} 不要动画片", scene="office", item_ids=[f"o{n}"], refinements=[], reply="ok")


def check_session_rows(target: str) -> None:
    rows = session_rows(target)
    assert rows.load("s1") is None
    assert rows.touch("s1", 1.0) is None  # no row: nothing to touch
    assert rows.save("s1", "amy", 10.0, '{"a": "不要"}') == 1
    assert rows.save("s1", "amy", 11.0, '{"a": 2}') == 2  # each save moves the revision on
    assert rows.load("s1") == ("amy", 11.0, '{"a": 2}', 2)
    assert rows.touch("s1", 12.0) == 2  # a use is not a write
    rows.save("s2", None, 5.0, "{}")
    rows.save("s3", "amy", 20.0, "{}")
    rows.save("s4", "bob", 30.0, "{}")
    assert (rows.count(), rows.count("amy", any_user=False), rows.count(None, any_user=False)) == (4, 2, 1)
    assert rows.count("zed", any_user=False) == 0
    assert rows.expire(6.0) == ["s2"]
    assert sorted(rows.evict(2)) == ["s1"]  # the least recently used (12.0) beyond 2
    assert rows.evict(5) == []
    assert rows.delete_user("amy") == ["s3"]
    assert rows.delete("s4") is True
    assert rows.delete("s4") is False
    assert rows.count() == 0
    assert rows.load("bad\x00id") is None  # never stored: an answer, not an error
    rows.close()


def check_event_rows(target: str) -> None:
    rows = event_rows(target)
    rows.add([EventRow("u2", "a1", "art", "like", 3.0), EventRow("u1", "b", "art", "history", 2.0),
              EventRow("u1", "a", "art", "history", 2.0), EventRow("U0", "z", "office", "view", 1.0)])  # fmt: skip
    assert [e.item_id for e in rows.events("u1")] == ["b", "a"]  # one timestamp: in insertion order
    assert rows.users() == ["U0", "u1", "u2"]  # byte order, as SQLite sorts
    rows.add([EventRow("u1", "c", "art", "dislike", 4.0)])
    rows.replace_history(["u1"], [EventRow("u1", "d", "art", "history", 0.5)])
    assert [(e.item_id, e.kind) for e in rows.events("u1")] == [("d", "history"), ("c", "dislike")]
    assert rows.forget("u1") == 2
    assert rows.events("u1") == []
    assert rows.forget("nobody") == 0
    rows.close()


def check_profiles(target: str) -> None:
    store = ProfileStore(target)
    store.record_many("u1", [("a1", "art"), ("a2", "art"), ("o1", "office")], kind="history")
    store.record("u1", "a3", "art", "like")
    store.record("u1", "a2", "art", "dislike")
    assert store.history("u1") == ["a1", "o1", "a3"]
    assert store.history("u1", exclude_scene="office") == ["a1", "a3"]
    other = ProfileStore(target)  # another process on the same state
    assert other.disliked("u1") == {"a2"}
    other.record("u1", "a2", "art", "like")  # a later like lifts the rejection, for every process
    assert store.disliked("u1") == set()
    assert store.import_interactions([("u1", "x", "office", 1.0), ("u9", "y", "art", 2.0)]) == 2
    assert other.history("u1") == ["x", "a3"]  # imported history replaced the old; feedback kept
    with pytest.raises(UsageError, match="a user id must be"):
        store.record("bad\x00user", "a1", "art")

    def work(n: int) -> None:
        store.record(f"t{n % 4}", f"i{n}", "art", "like")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(80)))
    assert sum(len(other.history(f"t{n}")) for n in range(4)) == 80
    assert other.forget("u1") == 4
    store.close()
    other.close()


def check_sessions_across_processes(target: str) -> None:
    one, two = SessionStore(path=target, turn_log=3), SessionStore(path=target, turn_log=3)  # two processes
    sess = one.open("amy", "office")
    sess.summary = InterestSummary(topics=[{"name": "watercolor paper"}], exclusions=["ink"], language="zh")
    sess.turns, sess.shown = 1, ["o1", "o2"]
    one.save(sess)
    there = two.get(sess.session_id, "amy")  # continued in the other process
    assert (there.turns, there.shown, there.summary) == (1, ["o1", "o2"], sess.summary)
    with there.lock:
        there.turns, there.shown = 2, ["o3"]
        there.summary.exclusions.append("glue")
        two.save(there)
    two.log_turn(there.session_id, _record(2))
    back = one.get(sess.session_id, "amy")  # the first process reads the other's turn back, in place
    assert back is sess
    assert (back.turns, back.shown, back.summary.exclusions) == (2, ["o3"], ["ink", "glue"])
    assert [r.statement for r in back.log] == ["turn 2 不要动画片"]
    assert one.find(sess.session_id, "bob") is None  # still invisible to others
    with pytest.raises(UsageError, match="belongs to another user"):
        two.get(sess.session_id, "bob")
    assert two.drop_user("amy") == 1  # ended in one process: gone in the other too
    assert one.find(sess.session_id, "amy") is None
    assert len(one) == 0
    capped = SessionStore(path=target, per_user=2)
    capped.open("cy")
    SessionStore(path=target, per_user=2).open("cy")
    with pytest.raises(UsageError, match="'cy' has 2 open sessions"):
        capped.open("cy")  # the cap counts what every process stored
    capped.drop_user("cy")
    idle = SessionStore(path=target, idle_hours=1)
    stale = idle.open("dee")
    stale.last_used = time.time() - 7200
    idle.save(stale)
    assert SessionStore(path=target, idle_hours=1).find(stale.session_id, "dee") is None  # expired where read back


def check_threads_on_one_store(target: str) -> None:
    sessions = SessionStore(path=target)  # opened in this thread, used from a pool

    def work(n: int) -> str:
        sess = sessions.get(None, f"u{n % 3}")
        with sess.lock:
            sess.turns += 1
            sessions.save(sess)
        sessions.log_turn(sess.session_id, _record(n))
        return sess.session_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(60)))
    again = SessionStore(path=target)
    assert len(again) == 60
    assert all(len(again.find(sid, f"u{n % 3}").log) == 1 for n, sid in enumerate(ids))
    for user in ("u0", "u1", "u2"):
        again.drop_user(user)


CHECKS = [check_session_rows, check_event_rows, check_profiles, check_sessions_across_processes,
          check_threads_on_one_store]  # fmt: skip

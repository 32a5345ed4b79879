"""Sessions on disk: a round trip, a second store (a restarted process) on the same file, expiry, caps, forget."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from scenebridge.agent.session import SessionStore, TurnRecord
from scenebridge.agent.summary import InterestSummary
from scenebridge.agent.turn import Recommender
from scenebridge.build import build_recommender
from scenebridge.errors import UsageError
from scenebridge.settings import Settings
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


def _record(n: int) -> TurnRecord:
    return TurnRecord(statement=f"turn {n} 不要动画片", scene="office", item_ids=[f"o{n}"], refinements=[], reply="ok")


def test_a_session_round_trips_through_the_file(tmp_path):
    path = tmp_path / "sessions.sqlite"
    first = SessionStore(path=path, turn_log=3)
    sess = first.open("amy", "office")
    sess.summary = InterestSummary(topics=[{"name": "watercolor paper"}], exclusions=["ink"], language="zh")
    sess.scene, sess.shown, sess.anchor, sess.turns = "office", ["o7", "o3"], ("o3", "watercolor pencils"), 2
    first.save(sess)
    for n in range(4):
        assert first.log_turn(sess.session_id, _record(n))
    again = SessionStore(path=path, turn_log=3)  # a restarted process
    back = again.find(sess.session_id, "amy")
    assert back is not None
    assert back is not sess
    assert back.summary == sess.summary
    assert (back.scene, back.start_scene, back.shown, back.anchor, back.turns) == (
        "office", "office", ["o7", "o3"], ("o3", "watercolor pencils"), 2)  # fmt: skip
    assert back.anchor_vector is None  # re-read from the item store by the next turn
    assert back.created == pytest.approx(sess.created)
    assert [r.statement for r in back.log] == ["turn 1 不要动画片", "turn 2 不要动画片", "turn 3 不要动画片"]
    assert back.info()["exclusions"] == ["ink"]
    assert again.find(sess.session_id, "bob") is None  # still invisible to others
    with pytest.raises(UsageError, match="belongs to another user"):
        again.get(sess.session_id, "bob")
    assert again.get(sess.session_id, "amy") is back  # one live object per session in a process
    assert sess.session_id in again
    assert len(again) == 1


def test_memory_only_stores_write_nothing(tmp_path):
    for sessions in (SessionStore(), SessionStore(path=":memory:")):
        sess = sessions.open("amy")
        sessions.save(sess)
        assert sessions.path is None
        assert SessionStore().find(sess.session_id, "amy") is None
    assert list(tmp_path.iterdir()) == []


def test_idle_sessions_expire_in_memory_and_on_disk(tmp_path):
    path = tmp_path / "sessions.sqlite"
    first = SessionStore(path=path, idle_hours=1)
    old, fresh = first.open("amy"), first.open("amy")
    old.last_used = time.time() - 2 * 3600
    first.save(old)
    assert first.find(old.session_id, "amy") is None  # in this process
    assert first.find(fresh.session_id, "amy") is fresh
    stale = first.open("bob")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sessions SET last_used = ? WHERE session_id = ?", (time.time() - 7200, stale.session_id))
    again = SessionStore(path=path, idle_hours=1)
    assert again.find(stale.session_id, "bob") is None  # read back after a restart: gone
    assert again.find(fresh.session_id, "amy") is not None
    assert len(again) == 1
    memory = SessionStore(idle_hours=1)
    gone = memory.open("amy")
    gone.last_used -= 7200
    assert memory.find(gone.session_id, "amy") is None


def test_caps_count_what_is_on_disk(tmp_path):
    path = tmp_path / "sessions.sqlite"
    SessionStore(path=path, per_user=2).open("amy")
    second = SessionStore(path=path, per_user=2)
    second.open("amy")
    with pytest.raises(UsageError, match="'amy' has 2 open sessions"):
        SessionStore(path=path, per_user=2).open("amy")
    small = SessionStore(path=tmp_path / "small.sqlite", max_sessions=3)
    opened = [small.open(f"u{n}").session_id for n in range(5)]
    later = SessionStore(path=tmp_path / "small.sqlite", max_sessions=3)
    assert len(later) == 3
    assert [sid in later for sid in opened] == [False, False, True, True, True]  # the least recently used went


def test_dropping_and_forgetting_reach_the_file(tmp_path, store):
    path = tmp_path / "sessions.sqlite"
    cfg = Settings.load(agent={"sessions": path})
    rec = build_recommender(settings=cfg, store=store, llm=None, reranker=None, profiles=ProfileStore(":memory:"))
    assert rec.sessions.path == str(path)
    kept = rec.sessions.open("amy").session_id
    rec.turn("watercolor paper for the office", user_id="amy", session_id=kept)
    rec.turn("gel pens for the office", user_id="amy")  # a one-off turn's session is saved too
    dropped = rec.sessions.open("bob").session_id
    assert rec.sessions.drop(dropped, "bob")
    assert dropped not in SessionStore(path=path)
    assert SessionStore(path=path).drop_user("nobody") == 0
    rec.forget("amy")
    assert len(SessionStore(path=path)) == 0
    again = build_recommender(settings=cfg, store=store, llm=None, reranker=None, profiles=None)
    assert again.sessions.find(kept, "amy") is None


def test_a_restarted_recommender_continues_the_session(tmp_path, store):
    path = tmp_path / "sessions.sqlite"
    first = Recommender(store, sessions=SessionStore(path=path))
    one = first.turn("watercolor paper and pens for the office", user_id="u1", k=5)
    two = first.turn("not paper", user_id="u1", session_id=one.session_id, k=5)
    assert "paper" in two.summary.exclusions
    restarted = Recommender(store, sessions=SessionStore(path=path))
    three = restarted.turn("more like the second one", user_id="u1", session_id=one.session_id, k=5)
    assert three.refinements[0].startswith(f"more like item 2: {two.items[1].title}")
    assert "paper" in three.summary.exclusions  # the exclusion from turn 2 still applies
    assert not any("paper" in i.title for i in three.items)
    again = Recommender(store, sessions=SessionStore(path=path))  # the anchor comes back; its vector is re-read
    four = again.turn("cheaper", user_id="u1", session_id=one.session_id, k=5)
    assert two.items[1].item_id not in {i.item_id for i in four.items}
    back = again.sessions.find(one.session_id, "u1")
    assert back.turns == 4
    assert back.anchor[0] == two.items[1].item_id
    assert back.anchor_vector is not None


def test_an_unreadable_row_is_dropped_not_raised(tmp_path):
    path = tmp_path / "sessions.sqlite"
    sess = SessionStore(path=path).open("amy")
    with sqlite3.connect(path) as db:
        db.execute('UPDATE sessions SET data = \'{"summary": {"topics": 7}}\' WHERE session_id = ?', (sess.session_id,))
    again = SessionStore(path=path)
    assert again.find(sess.session_id, "amy") is None
    assert len(again) == 0


def test_threads_save_one_file(tmp_path):
    sessions = SessionStore(path=tmp_path / "sessions.sqlite")  # opened in this thread, used from a pool

    def work(n: int) -> str:
        sess = sessions.get(None, f"u{n % 3}")
        with sess.lock:
            sess.turns += 1
            sessions.save(sess)
        sessions.log_turn(sess.session_id, _record(n))
        return sess.session_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(60)))
    again = SessionStore(path=tmp_path / "sessions.sqlite")
    assert len(again) == 60
    assert all(len(again.find(sid, f"u{n % 3}").log) == 1 for n, sid in enumerate(ids))


def test_a_session_write_that_fails_is_one_store_error_and_the_saved_state_comes_back(tmp_path, monkeypatch):
    from scenebridge.errors import StoreError

    store = SessionStore(path=tmp_path / "sessions.sqlite")
    sess = store.open("amy", "office")
    sess.shown, sess.turns = ["o1"], 1
    store.save(sess)
    real = store._db._db

    class Full:  # the disk fills up: every write fails as SQLite says then
        def __getattr__(self, name):
            return getattr(real, name)

        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

        def __enter__(self):
            return real.__enter__()

        def __exit__(self, *exc):
            return real.__exit__(*exc)

    monkeypatch.setattr(store._db, "_db", Full())
    sess.shown, sess.turns = ["o1", "o2"], 2  # a turn the caller will be told failed
    with pytest.raises(StoreError, match="disk space"):
        store.save(sess)
    monkeypatch.setattr(store._db, "_db", real)  # room again
    back = store.get(sess.session_id, "amy")
    assert (back.shown, back.turns) == (["o1"], 1)  # what was saved, not what failed

"""The SQLite backend keeps the state contract (the PostgreSQL one runs the same checks in the integration tier),
and a sessions file written before revisions were kept still opens."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from scenebridge.agent.session import SessionStore
from scenebridge.state import SessionRows, event_rows, is_postgres_url, session_rows
from scenebridge.state.sqlite import SQLiteSessions
from tests.unit.state.contract import CHECKS

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_sqlite_backend_keeps_the_contract(check: Callable[[str], None], tmp_path):
    check(str(tmp_path / "state.sqlite"))


def test_a_file_without_revisions_is_upgraded_in_place(tmp_path):
    path = tmp_path / "sessions.sqlite"
    with sqlite3.connect(path) as db:  # the table as an earlier release wrote it
        db.execute("CREATE TABLE sessions (session_id TEXT PRIMARY KEY, user_id TEXT, last_used REAL NOT NULL,"
                   " data TEXT NOT NULL)")  # fmt: skip
        db.execute("INSERT INTO sessions VALUES ('s1', 'amy', 1e12, '{\"turns\": 3}')")
    store = SessionStore(path=path)
    sess = store.find("s1", "amy")
    assert sess is not None
    assert (sess.turns, sess.rev) == (3, 1)
    store.save(sess)
    assert SQLiteSessions(path).load("s1").rev == 2


def test_targets_choose_the_backend(tmp_path):
    assert is_postgres_url("postgresql://u@h:5/db")
    assert is_postgres_url("postgres://h/db")
    assert not is_postgres_url(str(tmp_path / "x.sqlite"))
    rows: SessionRows = session_rows(tmp_path / "s.sqlite")
    assert session_rows(rows) is rows  # a table already open is used as it is
    assert rows.where == str(tmp_path / "s.sqlite")
    assert event_rows(":memory:").where == ":memory:"

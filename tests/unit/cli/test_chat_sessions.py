"""`scenebridge chat --session ID` continues a saved session after a restart; `scenebridge forget` deletes it."""

from __future__ import annotations

import re

import pytest

from scenebridge.agent.session import SessionStore
from tests.unit.cli.test_turn_cli import common, sb
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


def test_a_chat_continues_its_saved_session_after_a_restart(store, tmp_path):
    env = {"SCENEBRIDGE_AGENT_SESSIONS": str(tmp_path / "sessions.sqlite")}
    first = sb("chat", "--user", "u7", *common(store, tmp_path), env=env,
               stdin="watercolor paper and pens for the office\nnot paper\n/quit\n")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "exclusion added: paper" in first.stdout
    assert "watercolor paper pad" in first.stdout  # in the first answer, before "not paper"
    sid = re.findall(r"session ([0-9a-f]{32})", first.stdout)[-1]
    again = sb("chat", "--user", "u7", "--session", sid, *common(store, tmp_path), env=env, stdin="cheaper\n/quit\n")
    assert again.returncode == 0, again.stderr
    assert "constraint added: cheaper" in again.stdout  # read as a refinement of the saved summary
    assert "copy paper" not in again.stdout
    assert "watercolor paper pad" not in again.stdout  # the exclusion from the first chat still applies
    assert f"session {sid}" in again.stdout
    gone = sb("forget", "u7", "--profiles", str(tmp_path / "p.sqlite"), env=env)
    assert gone.returncode == 0, gone.stderr
    assert "ended 1 saved sessions" in gone.stdout
    assert SessionStore(path=tmp_path / "sessions.sqlite").find(sid, "u7") is None

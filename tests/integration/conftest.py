"""The integration tier's sessions go to a temporary file, never into the user's ``$SCENEBRIDGE_HOME``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _sessions_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Session-scoped and set in os.environ (not monkeypatch): module-scoped servers start before function fixtures,
    # and the subprocesses they start (serve, chat, mcp, forget) inherit it. Tests that need the default pop it.
    before = os.environ.get("SCENEBRIDGE_AGENT_SESSIONS")
    os.environ["SCENEBRIDGE_AGENT_SESSIONS"] = str(tmp_path_factory.mktemp("sessions") / "sessions.sqlite")
    yield
    if before is None:
        os.environ.pop("SCENEBRIDGE_AGENT_SESSIONS", None)
    else:
        os.environ["SCENEBRIDGE_AGENT_SESSIONS"] = before

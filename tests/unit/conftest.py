"""The unit tier's rule, enforced: no network sockets (servers and clients on 127.0.0.1 belong in integration).

Subprocesses the tests start are not covered; those run the CLI on files, never a server.
"""

from __future__ import annotations

import socket

import pytest

_INET = (socket.AF_INET, socket.AF_INET6)


@pytest.fixture(autouse=True)
def _no_network_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect, real_bind = socket.socket.connect, socket.socket.bind

    def guard(name: str, real):  # type: ignore[no-untyped-def]
        def call(self: socket.socket, address: object) -> object:
            if self.family in _INET:
                msg = f"a unit test tried to {name} a network socket ({address!r}); move it to tests/integration"
                raise AssertionError(msg)
            return real(self, address)

        return call

    monkeypatch.setattr(socket.socket, "connect", guard("connect", real_connect))
    monkeypatch.setattr(socket.socket, "bind", guard("bind", real_bind))


@pytest.fixture(autouse=True)
def _sessions_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # build_recommender keeps sessions in [agent] sessions (a file under $SCENEBRIDGE_HOME by default): a unit test
    # that builds one must not write into the user's data folder. Tests of the file store pass a path of their own.
    monkeypatch.setenv("SCENEBRIDGE_AGENT_SESSIONS", ":memory:")

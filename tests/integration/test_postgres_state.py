"""Sessions and profiles in PostgreSQL: the state contract the SQLite unit tests check, and two real ``scenebridge
serve`` processes on one PostgreSQL and one Chroma server (``chroma run``).

- A session started on one process continues on the other, and back: each reads the other's turns.
- Feedback given to one is used by the other (a disliked item is not recommended again).
- One is killed (SIGKILL) mid-stream of feedback writes and session turns: every feedback event acknowledged with a
  2xx is in the profile store, and every session continues on the other process with every acknowledged turn.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from scenebridge.errors import StoreError
from scenebridge.store.chroma import ItemStore
from scenebridge.store.embed import cached_embedder
from scenebridge.store.profiles import ProfileStore
from tests.helpers import free_port, scenebridge_serve
from tests.integration.postgres import Cluster, fresh_database, postgres_cluster
from tests.integration.state_figures import record
from tests.integration.test_http_sessions_real import MOVIES
from tests.unit.state.contract import CHECKS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with postgres_cluster() as running:
        yield running


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_postgres_backend_keeps_the_contract(check: Callable[[str], None], cluster: Cluster):
    check(fresh_database(cluster.url))


def test_a_restarted_postgres_costs_at_most_one_error_then_reconnects(cluster: Cluster):
    profiles = ProfileStore(fresh_database(cluster.url))
    profiles.record("u", "a1", "art")
    with ThreadPoolExecutor(8) as pool:  # several connections sit idle in the pool
        list(pool.map(lambda _: profiles.history("u"), range(64)))
    cluster.restart()  # every one of them is dead now
    with pytest.raises(StoreError, match=r"PostgreSQL state store at postgresql://127\.0\.0\.1:") as exc:
        profiles.history("u")  # the call that finds out: a clear error (503 on the HTTP API), not a hang
    assert "scenebridge@" not in str(exc.value)  # the URL's user (and a password) are not in messages
    assert profiles.history("u") == ["a1"]  # the next call does not get another dead one
    profiles.record("u", "a2", "art")
    assert profiles.history("u") == ["a1", "a2"]


@contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    """A real Chroma server (``chroma run``) on a free port; yields its URL."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    port = free_port()
    cmd = [chroma, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert proc.poll() is None, "the chroma server exited"
                assert time.monotonic() < deadline, "the chroma server did not start in 60 s"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _turn(url: str, sid: str, statement: str, user: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/sessions/{sid}/turns", json={"statement": statement}, headers={"X-User-Id": user},
                      timeout=120)  # fmt: skip


def _ids(resp: httpx.Response) -> list[str]:
    return [i["item_id"] for i in resp.json()["items"]]


def _statements(url: str, sid: str, user: str) -> list[str]:
    info = httpx.get(f"{url}/v1/sessions/{sid}", headers={"X-User-Id": user}, timeout=60)
    assert info.status_code == 200, info.text
    return [t["statement"] for t in info.json()["turns"]]


class Stream:
    """Feedback writes and session turns sent to one server until it dies; what it acknowledged."""

    def __init__(self, url: str, sessions: list[str]) -> None:
        self.url, self.sessions = url, sessions
        self.feedback: Counter[tuple[str, str]] = Counter()
        self.turns: dict[str, list[str]] = {sid: [] for sid in sessions}
        self.failed = threading.Event()  # the server stopped answering
        self.bad: list[str] = []  # answers that were not a success (none are expected before the kill)

    def send_feedback(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-User-Id": "kim"}, timeout=30) as client:
            for n in range(10_000):
                item, kind = MOVIES[n % len(MOVIES)][0], ("like", "view")[n % 2]
                try:
                    resp = client.post("/v1/users/kim/feedback", json={"item_id": item, "kind": kind})
                except httpx.HTTPError:
                    self.failed.set()
                    return
                if resp.status_code != 201:
                    self.bad.append(f"feedback: {resp.status_code} {resp.text[:200]}")
                    return
                self.feedback[(item, kind)] += 1

    def send_turns(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-User-Id": "sam"}, timeout=60) as client:
            for n in range(10_000):
                sid = self.sessions[n % len(self.sessions)]
                statement = f"round {n}: thrillers, no comedy"
                try:
                    resp = client.post(f"/v1/sessions/{sid}/turns", json={"statement": statement})
                except httpx.HTTPError:
                    self.failed.set()
                    return
                if resp.status_code != 200:
                    self.bad.append(f"turn: {resp.status_code} {resp.text[:200]}")
                    return
                self.turns[sid].append(statement)


def _start_together(stack: ExitStack, argv: list[list[str]], env: dict[str, str]) -> list[tuple[str, Any]]:
    """Starts one ``scenebridge serve`` per ``argv`` at the same time (each start is mostly imports); each stops when
    ``stack`` closes."""
    starting = [scenebridge_serve(args, free_port(), env=env) for args in argv]
    with ThreadPoolExecutor(len(starting)) as pool:
        entered = [pool.submit(cm.__enter__) for cm in starting]
        for cm, future in zip(starting, entered, strict=True):
            if future.exception() is None:
                stack.push(cm.__exit__)  # pushed before any failure is raised: what started is stopped
        return [future.result() for future in entered]


def _continue_across(a: str, b: str) -> None:
    """A session started on one process continues on the other, and back (each reads the other's turns)."""
    said = ["thrillers like Heat and Fargo, no comedy", "more like the first one", "and no horror"]
    ann = {"X-User-Id": "ann"}
    sid = httpx.post(f"{a}/v1/sessions", json={"scene": "movies"}, headers=ann, timeout=60).json()["session_id"]
    first = _turn(a, sid, said[0], "ann")
    assert first.status_code == 200, first.text
    second = _turn(b, sid, said[1], "ann")
    assert second.status_code == 200, second.text
    assert second.json()["refinements"][0].startswith("more like item 1")  # B knew what A had shown
    assert _ids(first)[0] not in _ids(second)
    assert "comedy" in second.json()["summary"]["exclusions"]
    third = _turn(a, sid, said[2], "ann")  # A reads B's turn back before this one
    assert third.status_code == 200, third.text
    assert {"comedy", "horror"} <= set(third.json()["summary"]["exclusions"])
    assert _statements(a, sid, "ann") == _statements(b, sid, "ann") == said


def _feedback_across(a: str, b: str) -> None:
    """Feedback given to one process is used by the other: a disliked item is not recommended again."""
    ann = {"X-User-Id": "ann"}
    ask = {"statement": "thrillers like Heat", "scene": "movies"}
    top = _ids(httpx.post(f"{a}/v1/recommend", json=ask, headers=ann, timeout=60))[0]
    fb = httpx.post(f"{b}/v1/users/ann/feedback", json={"item_id": top, "kind": "dislike"}, headers=ann, timeout=60)
    assert fb.status_code == 201, fb.text
    assert top not in _ids(httpx.post(f"{a}/v1/recommend", json=ask, headers=ann, timeout=60))


def _kill_mid_stream(a: str, proc: subprocess.Popen[str], b: str, db: str) -> dict[str, int]:
    """Kills ``a`` (SIGKILL) mid-stream of feedback writes and session turns; checks on ``b`` and in the database
    that nothing it acknowledged is lost; returns the counts."""
    sam = {"X-User-Id": "sam"}
    opened = [httpx.post(f"{a}/v1/sessions", json={"scene": "movies"}, headers=sam, timeout=60).json()["session_id"]
              for _ in range(3)]  # fmt: skip
    stream = Stream(a, opened)
    workers = [threading.Thread(target=stream.send_feedback), threading.Thread(target=stream.send_turns)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        sum(stream.feedback.values()) < 20 or sum(map(len, stream.turns.values())) < 6
    ):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for w in workers:
        w.join(timeout=60)
    assert not stream.bad
    assert stream.failed.is_set()
    acked, turns = sum(stream.feedback.values()), sum(map(len, stream.turns.values()))
    assert acked >= 20, "the feedback stream was too slow to be killed mid-way"
    assert turns >= 6, "the turn stream was too slow to be killed mid-way"
    found = Counter((e.item_id, e.kind) for e in ProfileStore(db).events("kim"))
    assert not stream.feedback - found  # every acknowledged event is stored
    assert sum(found.values()) - acked <= 1  # and at most the one in flight besides
    kept = 0
    for n, sess in enumerate(opened):
        logged = _statements(b, sess, "sam")
        kept += sum(1 for said in stream.turns[sess] if said in logged)
        assert logged[: len(stream.turns[sess])] == stream.turns[sess]  # every acknowledged turn, in order
        assert len(logged) - len(stream.turns[sess]) <= 1
        more = _turn(b, sess, f"on the other server {n}, no comedy", "sam")  # it continues there
        assert more.status_code == 200, more.text
        assert "comedy" in more.json()["summary"]["exclusions"]
        assert _statements(b, sess, "sam")[-1] == f"on the other server {n}, no comedy"
    found_acked = sum(min(found[k], n) for k, n in stream.feedback.items())
    return {"sessions": len(opened), "acked": acked, "found": found_acked, "turns": turns, "kept": kept}


def test_two_serve_processes_share_one_postgres_and_one_chroma(cluster: Cluster, tmp_path: Path):
    db = fresh_database(cluster.url)
    unused = tmp_path / "unused.sqlite"
    env = {**os.environ, "SCENEBRIDGE_STATE_URL": db, "SCENEBRIDGE_HOME": str(tmp_path / "home"),
           "SCENEBRIDGE_CACHE": str(tmp_path / "cache"), "SCENEBRIDGE_AGENT_SESSIONS": str(unused)}  # fmt: skip
    with chroma_server(tmp_path / "chroma") as chroma:
        rows = pd.DataFrame([(i, "movies", t, c, int(t[-5:-1])) for i, t, c in MOVIES],
                            columns=["item_id", "scene", "title", "category", "year"])  # fmt: skip
        ItemStore(cached_embedder("hashing", tmp_path / "index-cache.sqlite"), url=chroma).index(rows)
        args = ["--url", chroma, "--embedder", "hashing", "--llm", "none"]
        with ExitStack() as servers:
            (a, proc), (b, _) = _start_together(servers, [args, args], env)
            _continue_across(a, b)
            _feedback_across(a, b)
            kill = _kill_mid_stream(a, proc, b, db)
    # `scenebridge forget` reaches the shared state too (ann: one session, one dislike).
    forget = subprocess.run([sys.executable, "-m", "scenebridge.cli", "forget", "ann"], env=env, capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert forget.returncode == 0, forget.stderr
    assert "deleted 1 events of user 'ann'" in forget.stdout
    assert "ended 1 saved sessions of user 'ann'" in forget.stdout
    assert not unused.exists()  # with [state] url nothing goes to the SQLite files
    assert not (tmp_path / "home" / "profiles.sqlite").exists()
    record(
        "two `scenebridge serve` processes on one PostgreSQL and one Chroma server: a session continued across them "
        "and back, feedback given to one used by the other, one killed (SIGKILL) mid-stream with nothing it "
        "acknowledged lost (the other continued every session)",
        **{"serve processes on one PostgreSQL": 2,
           "sessions continued across processes": 1 + kill["sessions"],
           "feedback acknowledged (SIGKILL mid-stream)": kill["acked"],
           "feedback found (SIGKILL mid-stream)": kill["found"],
           "session turns acknowledged (SIGKILL mid-stream)": kill["turns"],
           "session turns found (SIGKILL mid-stream)": kill["kept"]},
    )  # fmt: skip

"""Faults of a running ``scenebridge serve``, each with a real process: killed with SIGKILL in the middle of a stream
of feedback writes and session turns, and a profile store that fills up or turns read-only under feedback writes.

What must hold: every event answered with a 2xx is in the profile store after a restart, every session continues
with its state, and a write that cannot be made is an error object (never a half-written row).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from scenebridge.store.profiles import ProfileStore
from tests.conftest import make_dataset
from tests.helpers import free_port, scenebridge_serve
from tests.integration import faults_figures

pytestmark = pytest.mark.integration

USERS = [f"user{n}" for n in range(4)]
FIRST = "watercolor paint, no fountain pen"
FOLLOW_UPS = ["something cheaper", "more watercolor paint", "oil canvas too", "watercolor paint again"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The tiny two-scene catalogue, indexed with the hashing embedder."""
    root = tmp_path_factory.mktemp("faults-serve")
    data = make_dataset(root / "tiny")
    env = {**os.environ, "SCENEBRIDGE_HOME": str(root / "home"), "SCENEBRIDGE_CACHE": str(root / "cache")}
    cmd = [sys.executable, "-m", "scenebridge.cli", "index", str(data), "--store", str(root / "store"),
           "--embedder", "hashing"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    return root / "store"


def _setup(tmp_path: Path, store: Path) -> tuple[list[str], dict[str, str], Path]:
    profiles = tmp_path / "profiles" / "profiles.sqlite"  # its own folder: it alone is made read-only
    env = {**os.environ, "SCENEBRIDGE_HOME": str(tmp_path / "home"), "SCENEBRIDGE_CACHE": str(tmp_path / "cache"),
           "SCENEBRIDGE_AGENT_SESSIONS": str(tmp_path / "state" / "sessions.sqlite")}  # fmt: skip
    args = ["--store", str(store), "--embedder", "hashing", "--llm", "none", "--profiles", str(profiles)]
    return args, env, profiles


def _stored(profiles: Path) -> Counter[tuple[str, str, str]]:
    events = ProfileStore(profiles)
    try:
        return Counter((e.user_id, e.item_id, e.kind) for u in events.users() for e in events.events(u))
    finally:
        events.close()


def test_serve_killed_mid_stream_loses_no_acknowledged_write(tmp_path, store):
    args, env, profiles = _setup(tmp_path, store)
    port = free_port()
    acked: Counter[tuple[str, str, str]] = Counter()
    turns_acked: Counter[str] = Counter()
    sessions: dict[str, str] = {}
    with scenebridge_serve(args, port, env=env) as (url, proc):
        for user in USERS:
            head = {"X-User-Id": user}
            sid = httpx.post(f"{url}/v1/sessions", json={"scene": "b"}, headers=head, timeout=30).json()["session_id"]
            first = httpx.post(f"{url}/v1/sessions/{sid}/turns", json={"statement": FIRST}, headers=head, timeout=30)
            assert first.status_code == 200, first.text
            assert "fountain pen" in first.json()["summary"]["exclusions"]
            sessions[user], turns_acked[sid] = sid, 1
        lock, stop = threading.Lock(), threading.Event()

        def client(user: str) -> None:
            head, sid, n = {"X-User-Id": user}, sessions[user], 0
            with httpx.Client(base_url=url, headers=head, timeout=30) as http:
                while not stop.is_set() and n < 200:
                    n += 1
                    try:
                        if n % 4 == 0 and turns_acked[sid] < 30:
                            resp = http.post(f"/v1/sessions/{sid}/turns", json={"statement": FOLLOW_UPS[n % 4]})
                            if resp.status_code == 200:
                                with lock:
                                    turns_acked[sid] += 1
                            continue
                        item, kind = f"a{n % 30}", ("like", "view", "purchase", "dislike")[n % 3]
                        resp = http.post(f"/v1/users/{user}/feedback", json={"item_id": item, "kind": kind})
                        if resp.status_code == 201:
                            with lock:
                                acked[(user, item, kind)] += 1
                    except httpx.HTTPError:
                        return  # the server is gone: what was not answered was not acknowledged

        threads = [threading.Thread(target=client, args=(u,), daemon=True) for u in USERS]
        faults_figures.injected("serve killed with SIGKILL mid-stream")
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while sum(acked.values()) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-stream: the clients are still sending
        proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    n_acked = sum(acked.values())
    assert n_acked >= 20, "too few writes were acknowledged before the kill to test anything"
    found = _stored(profiles)
    lost = acked - found
    assert not lost, f"acknowledged and lost: {dict(lost)}"
    with scenebridge_serve(args, port, env=env) as (url, _):
        for user, sid in sessions.items():
            head = {"X-User-Id": user}
            info = httpx.get(f"{url}/v1/sessions/{sid}", headers=head, timeout=30)
            assert info.status_code == 200, info.text
            state = info.json()
            assert len(state["turns"]) >= turns_acked[sid], (len(state["turns"]), turns_acked[sid])
            assert "fountain pen" in state["exclusions"]
            assert state["scene"] == "b"
            ask = {"statement": "watercolor paint please"}
            more = httpx.post(f"{url}/v1/sessions/{sid}/turns", json=ask, headers=head, timeout=30)
            assert more.status_code == 200, more.text
            assert "fountain pen" in more.json()["summary"]["exclusions"]
            assert not [i for i in more.json()["items"] if "fountain pen" in i["title"]]
    turns = sum(turns_acked.values())
    faults_figures.survived(
        "serve killed with SIGKILL mid-stream",
        f"{n_acked} feedback events acknowledged with 201 before the kill, all {n_acked} in the profile store after "
        f"it; {len(sessions)} sessions ({turns} acknowledged turns) continued with their scene and exclusions",
        **{
            "SIGKILL: feedback events acknowledged": n_acked,
            "SIGKILL: acknowledged events found after restart": n_acked - sum(lost.values()),
            "SIGKILL: acknowledged events lost": sum(lost.values()),
            "SIGKILL: session turns acknowledged": turns,
            "SIGKILL: sessions continued with their state": len(sessions),
        },
    )


# -- the profile store full or read-only under feedback writes ----------------------------------------------------


def _feedback_until_refused(url: str, user: str, acked: Counter, limit: int = 3000) -> httpx.Response:
    for n in range(limit):
        item = f"b{n % 30}"
        resp = httpx.post(f"{url}/v1/users/{user}/feedback", json={"item_id": item, "kind": "like"},
                          headers={"X-User-Id": user}, timeout=30)  # fmt: skip
        if resp.status_code != 201:
            return resp
        acked[(user, item, "like")] += 1
    pytest.fail(f"{limit} feedback writes were all accepted: the fault did not take")


def _check_refusal(resp: httpx.Response) -> str:
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["type"] == "StoreError"
    assert "profile store" in error["message"], error
    return str(error["message"])


def _feedback_fault(url: str, profiles: Path, fault: str, inject, lift) -> dict[str, Any]:
    user, acked = "writer", Counter[tuple[str, str, str]]()
    for n in range(5):
        assert httpx.post(f"{url}/v1/users/{user}/feedback", json={"item_id": f"a{n}", "kind": "view"},
                          headers={"X-User-Id": user}, timeout=30).status_code == 201  # fmt: skip
        acked[(user, f"a{n}", "view")] += 1
    faults_figures.injected(fault)
    inject()
    refused = _feedback_until_refused(url, user, acked)
    message = _check_refusal(refused)
    again = httpx.post(f"{url}/v1/users/{user}/feedback", json={"item_id": "a1", "kind": "dislike"},
                       headers={"X-User-Id": user}, timeout=30)  # fmt: skip
    _check_refusal(again)  # still refused, still clearly
    lift()
    back = httpx.post(f"{url}/v1/users/{user}/feedback", json={"item_id": "a2", "kind": "purchase"},
                      headers={"X-User-Id": user}, timeout=30)  # fmt: skip
    assert back.status_code == 201, back.text
    acked[(user, "a2", "purchase")] += 1
    found = _stored(profiles)
    assert found == acked, f"stored {sum(found.values())} events, acknowledged {sum(acked.values())}"
    return {"acked": sum(acked.values()), "found": sum(found.values()), "message": message}


def test_feedback_on_a_full_disk_is_an_error_object_and_no_partial_row(tmp_path, store):
    args, env, profiles = _setup(tmp_path, store)
    with scenebridge_serve(args, free_port(), env=env) as (url, proc):
        hard = resource.prlimit(proc.pid, resource.RLIMIT_FSIZE)[1]

        def full() -> None:  # no file of the server may grow past its size now: the next new page fails (EFBIG)
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (profiles.stat().st_size, hard))

        def lift() -> None:
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (hard, hard))

        got = _feedback_fault(url, profiles, "disk full during feedback writes", full, lift)
    faults_figures.survived(
        "disk full during feedback writes",
        f"a 503 error object ({got['message']}); {got['acked']} acknowledged events, {got['found']} stored, "
        "none of the refused ones; writes succeed again once there is room",
        **{
            "disk full during feedback: events acknowledged": got["acked"],
            "disk full during feedback: events stored": got["found"],
        },
    )


def _read_only(folder: Path) -> list[str] | None:
    """A prefix that runs the server in its own mount namespace with ``folder`` bind-mounted read-only onto itself
    (root ignores permission bits), or None where this machine does not allow it. The mount is made before the
    server starts: Linux refuses to remount a folder read-only while a process holds a file in it open for writing.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && shift && exec "$@"'
    wrap = [unshare, "--mount", "--propagation", "private", "sh", "-c", script, str(folder), "sh"]
    probe = subprocess.run([*wrap, "true"], capture_output=True, check=False)
    return wrap if probe.returncode == 0 else None


def test_feedback_on_a_read_only_profile_store_is_an_error_object_and_no_partial_row(tmp_path, store):
    args, env, profiles = _setup(tmp_path, store)
    before = ProfileStore(profiles)  # the events already there: a served user's history
    for n in range(5):
        before.record("writer", f"a{n}", "a", "view")
    before.close()
    acked = _stored(profiles)
    root = os.geteuid() == 0
    prefix = _read_only(profiles.parent) if root else []
    if prefix is None:
        pytest.skip("no way to make a folder read-only for root here (no unshare or mount)")
    modes = {p: p.stat().st_mode for p in [profiles.parent, *profiles.parent.iterdir()]}
    if not root:
        for p, mode in modes.items():
            p.chmod(mode & ~0o222)
    fault = "read-only profile store during feedback writes"
    faults_figures.injected(fault)
    try:
        with scenebridge_serve(args, free_port(), env=env, prefix=prefix) as (url, _):
            head = {"X-User-Id": "writer"}
            refused = [httpx.post(f"{url}/v1/users/writer/feedback", json={"item_id": f"b{n}", "kind": "like"},
                                  headers=head, timeout=30) for n in range(3)]  # fmt: skip
            messages = [_check_refusal(r) for r in refused]
            read = httpx.post(f"{url}/v1/recommend", json={"statement": "watercolor paint", "scene": "b"},
                              headers=head, timeout=30)  # fmt: skip
            assert read.status_code == 200, read.text  # reading the profile still works
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    found = _stored(profiles)
    assert found == acked, f"stored {sum(found.values())} events, expected the {sum(acked.values())} from before"
    faults_figures.survived(
        fault,
        f"{len(refused)} writes each a 503 error object ({messages[0]}), no row of them stored, the "
        f"{sum(acked.values())} earlier events intact, turns that read the profile still answered 200",
        **{
            "read-only during feedback: writes refused with 503": len(refused),
            "read-only during feedback: refused writes stored": sum((found - acked).values()),
        },
    )

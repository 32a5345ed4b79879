"""`scenebridge serve` as a real process on 127.0.0.1 (uvicorn), with a token, and `scenebridge forget --server`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from scenebridge.store.profiles import ProfileStore
from tests.helpers import free_port, scenebridge_serve
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.integration
TOKEN = "integration-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    store = build_store(root / "store")
    profiles = root / "profiles.sqlite"
    ProfileStore(profiles).record("carol", "a1", "art", "like")
    port = free_port()
    args = ["--store", str(store.where), "--embedder", "hashing", "--llm", "none", "--profiles", str(profiles),
            "--token", TOKEN]  # fmt: skip
    with scenebridge_serve(args, port, timeout=90) as (url, _):
        yield url, profiles


def test_served_api_end_to_end(server):
    url, profiles = server
    auth = {"Authorization": f"Bearer {TOKEN}", "X-User-Id": "carol"}
    assert httpx.post(f"{url}/v1/recommend", json={"statement": "pens"}, timeout=30).status_code == 401
    rec = httpx.post(f"{url}/v1/recommend", json={"statement": "gel pens for the office, no printer ink"},
                     headers=auth, timeout=60)  # fmt: skip
    assert rec.status_code == 200, rec.text
    assert rec.json()["scene"] == "office"
    sid = httpx.post(f"{url}/v1/sessions", headers=auth, timeout=30).json()["session_id"]
    turn = httpx.post(f"{url}/v1/sessions/{sid}/turns", json={"statement": "watercolor things for the office"},
                      headers=auth, timeout=60)  # fmt: skip
    assert turn.status_code == 200, turn.text
    other = {**auth, "X-User-Id": "dave"}
    assert httpx.get(f"{url}/v1/sessions/{sid}", headers=other, timeout=30).status_code == 404
    env = {**os.environ, "SCENEBRIDGE_API_TOKEN": TOKEN}
    proc = subprocess.run([sys.executable, "-m", "scenebridge.cli", "forget", "carol", "--profiles", str(profiles),
                           "--server", url], capture_output=True, text=True, check=False, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "deleted 1 events" in proc.stdout
    assert "ended 1 sessions" in proc.stdout
    assert httpx.get(f"{url}/v1/sessions/{sid}", headers=auth, timeout=30).status_code == 404
    assert ProfileStore(profiles).events("carol") == []

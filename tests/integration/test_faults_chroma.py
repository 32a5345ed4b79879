"""The Chroma server (``chroma run``) killed with SIGKILL and restarted while a real ``scenebridge serve --url``
answers a stream of requests: during the outage each request fails fast with a 503 that names the server, and after
it the same requests succeed again without restarting ``serve``.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from scenebridge.store import HashingEmbedder, ItemStore
from tests.conftest import make_dataset
from tests.helpers import free_port, scenebridge_serve
from tests.integration import faults_figures

pytestmark = pytest.mark.integration

OUTAGE_S = 3.0  # how long the Chroma server stays down while requests keep coming
FAIL_FAST_S = 5.0  # the most one request may take while it is down


def start_chroma(data: Path, port: int) -> subprocess.Popen[bytes]:
    """``chroma run`` on 127.0.0.1:PORT over DATA, once it accepts connections."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    cmd = [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the chroma server did not start in 60 s")


def _ask(url: str, statement: str = "watercolor paint") -> tuple[int, dict, float]:
    start = time.perf_counter()
    resp = httpx.post(f"{url}/v1/recommend", json={"statement": statement, "scene": "b", "k": 5}, timeout=30)
    return resp.status_code, resp.json(), time.perf_counter() - start


def test_chroma_server_killed_and_restarted_under_serve(tmp_path):
    data, port = tmp_path / "chroma-data", free_port()
    chroma = start_chroma(data, port)
    chroma_url = f"http://127.0.0.1:{port}"
    try:
        ds = make_dataset(tmp_path / "tiny")
        items = [dict(r) for r in csv.DictReader((ds / "items.csv").open(encoding="utf-8"))]
        ItemStore(HashingEmbedder(), url=chroma_url).index(pd.DataFrame(items))
        env = {**os.environ, "SCENEBRIDGE_HOME": str(tmp_path / "home"), "SCENEBRIDGE_CACHE": str(tmp_path / "cache")}
        args = ["--url", chroma_url, "--embedder", "hashing", "--llm", "none"]
        with scenebridge_serve(args, free_port(), env=env) as (url, _):
            before = [_ask(url) for _ in range(3)]
            assert [s for s, _, _ in before] == [200] * 3
            shown = [i["item_id"] for i in before[0][1]["items"]]
            assert shown

            faults_figures.injected("Chroma server killed and restarted")
            chroma.send_signal(signal.SIGKILL)
            chroma.wait(timeout=30)
            during: list[tuple[int, dict, float]] = []
            end = time.monotonic() + OUTAGE_S
            while time.monotonic() < end:
                during.append(_ask(url))
            assert during
            assert {s for s, _, _ in during} == {503}, during[:3]
            worst = max(t for _, _, t in during)
            assert worst < FAIL_FAST_S
            message = during[0][1]["error"]["message"]
            assert message.startswith(f"the Chroma server at {chroma_url} does not answer"), message
            assert "chroma run" in message

            restarted_at = time.monotonic()
            chroma = start_chroma(data, port)  # same folder, same port: what an operator's restart does
            after: list[tuple[int, dict, float]] = []
            while time.monotonic() - restarted_at < 60:
                after.append(_ask(url))
                if after[-1][0] == 200:
                    break
                assert after[-1][0] == 503, after[-1]
                time.sleep(0.2)
            recovered_s = time.monotonic() - restarted_at
            assert after[-1][0] == 200, "serve did not recover after the Chroma server came back"
            again = [_ask(url) for _ in range(3)]
            assert [s for s, _, _ in again] == [200] * 3
            assert [i["item_id"] for i in again[0][1]["items"]] == shown  # the same answer as before the outage
        faults_figures.survived(
            "Chroma server killed and restarted",
            f"{len(during)} requests in a {OUTAGE_S:g} s outage all answered 503 with a message naming the server "
            f"(slowest {worst * 1000:.0f} ms); the same answers as before once it was back, without restarting serve",
            **{
                "chroma outage: requests": len(during),
                "chroma outage: requests answered 503": sum(s == 503 for s, _, _ in during),
                "chroma outage: max latency ms": round(worst * 1000, 1),
                "chroma restart: seconds until serve answered 200 again": round(recovered_s, 2),
                "chroma restart: requests after recovery answered 200": 1 + sum(s == 200 for s, _, _ in again),
            },
        )
    finally:
        chroma.kill()
        chroma.wait(timeout=30)

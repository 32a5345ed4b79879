"""An OpenAI-compatible LLM server that misbehaves on purpose, under a real ``scenebridge serve --llm URL``.

The server is a raw socket on 127.0.0.1 in a thread (not http.server: it must be able to stall after its headers,
trickle a body byte by byte, and cut a response in the middle). Whatever it does, each turn answers 200 within the
configured timeout (``SCENEBRIDGE_LLM_TIMEOUT``) plus the turn's own work, read by the lexical parser, and says so in
its notes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_dataset
from tests.helpers import free_port, scenebridge_serve
from tests.integration import faults_figures

pytestmark = pytest.mark.integration

TIMEOUT_S = 2.0  # SCENEBRIDGE_LLM_TIMEOUT for the server under test
SLACK_S = 3.0  # the turn's own work on top (retrieval, ranking; a busy 2-core CI machine)
STATEMENT = "watercolor paint, no fountain pen"


def _completion(content: str) -> bytes:
    message = {"role": "assistant", "content": content}
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}  # fmt: skip
    return json.dumps(body).encode()


def _head(length: int) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()


class BadLLM:
    """A chat server whose misbehaviour is ``mode``: stall, trickle, garbage, not-json, drop, hang-up."""

    def __init__(self) -> None:
        self.mode = "stall"
        self.calls = 0
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536) or b"\r\n\r\n"
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")),
                      0)  # fmt: skip
        while len(body) < length:
            body += conn.recv(65536) or b" " * length

    def _answer(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._read_request(conn)
            self.calls += 1
            if self.mode == "stall":  # accepts, reads, never answers
                self.stop.wait(30)
            elif self.mode == "trickle":  # headers at once, then one byte every 0.3 s: no read ever times out
                conn.sendall(_head(5000))
                for _ in range(5000):
                    if self.stop.wait(0.3):
                        return
                    conn.sendall(b" ")
            elif self.mode == "garbage":  # a well-formed completion whose content is not the JSON asked for
                body = _completion("Sure! Here are some great paints for you :)")
                conn.sendall(_head(len(body)) + body)
            elif self.mode == "not-json":  # says JSON, sends something else
                body = b"<html><body>502 Bad Gateway</body></html>"
                conn.sendall(_head(len(body)) + body)
            elif self.mode == "drop":  # half the answer, then the connection goes
                body = _completion('{"topics": ["watercolor paint"]}')
                conn.sendall(_head(len(body)) + body[: len(body) // 2])
            elif self.mode == "hang-up":  # the request read, the connection closed without a word
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, BadLLM]]:
    root = tmp_path_factory.mktemp("faults-llm")
    data = make_dataset(root / "tiny")
    env = {**os.environ, "SCENEBRIDGE_HOME": str(root / "home"), "SCENEBRIDGE_CACHE": str(root / "cache"),
           "SCENEBRIDGE_LLM_TIMEOUT": str(TIMEOUT_S)}  # fmt: skip
    cmd = [sys.executable, "-m", "scenebridge.cli", "index", str(data), "--store", str(root / "store"),
           "--embedder", "hashing"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    llm = BadLLM()
    args = ["--store", str(root / "store"), "--embedder", "hashing", "--llm", llm.url]
    try:
        with scenebridge_serve(args, free_port(), env=env) as (url, _):
            yield url, llm
    finally:
        llm.close()


MODES = ["stall", "trickle", "garbage", "not-json", "drop", "hang-up"]


@pytest.mark.parametrize("mode", MODES)
def test_a_misbehaving_llm_falls_back_to_the_lexical_parse_in_time(served, mode):
    url, llm = served
    llm.mode, calls = mode, llm.calls
    fault = f"LLM server: {mode}"
    faults_figures.injected(fault)
    start = time.perf_counter()
    resp = httpx.post(f"{url}/v1/recommend", json={"statement": STATEMENT, "scene": "b", "k": 5}, timeout=60)
    took = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    assert llm.calls > calls, "the LLM was not asked: nothing was tested"
    result = resp.json()
    assert result["parse_source"] == "fallback"
    assert any("your words were read by the lexical parser" in n for n in result["notes"]), result["notes"]
    assert "fountain pen" in result["summary"]["exclusions"]
    assert result["items"]
    assert not [i for i in result["items"] if "fountain pen" in i["title"]]
    assert took < TIMEOUT_S + SLACK_S, f"{mode}: {took:.1f} s"
    faults_figures.survived(
        fault,
        f"answered 200 in {took:.2f} s (timeout {TIMEOUT_S:g} s), parse_source fallback, a note saying so",
        **{f"LLM {mode}: turn seconds": round(took, 2), "LLM timeout seconds": TIMEOUT_S},
    )

"""Small helpers shared by unit and integration tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def recompute(data: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Runs the independent metric recomputation on an evaluation folder."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "recompute_metrics.py"), str(data), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send_json(handler: BaseHTTPRequestHandler, payload: object, status: int = 200) -> None:
    """Writes a JSON response from a test HTTP server."""
    raw = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Runs a test HTTP server on 127.0.0.1 in a thread; yields its ``/v1`` base URL."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()


@contextmanager
def scenebridge_serve(
    args: list[str], port: int, env: dict[str, str] | None = None, timeout: float = 120, prefix: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A real ``scenebridge serve --port PORT ARGS...`` on 127.0.0.1, once its ``/healthz`` answers; yields its URL
    and process, and stops it afterwards (the test fails with the server's output if it does not start). ``prefix``
    runs it under a wrapper that ends by exec-ing it (e.g. ``unshare``), so the process is still the server."""
    import time

    import httpx
    import pytest

    cmd = [*prefix, sys.executable, "-m", "scenebridge.cli", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    # Drained all along: the server logs every request (uvicorn's access log) and blocks once the pipe is full
    # (about 600 requests: the fuzzing test hung there).
    tail: deque[str] = deque(maxlen=400)
    reader = threading.Thread(target=tail.extend, args=(proc.stdout or (),), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                reader.join(timeout=5)
                pytest.fail(f"scenebridge serve did not start: {''.join(tail)}")
            time.sleep(0.3)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)

"""Small helpers shared by unit and integration tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
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

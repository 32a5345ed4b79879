"""Small helpers shared by unit and integration tests."""

from __future__ import annotations

import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
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


def send_json(handler: BaseHTTPRequestHandler, payload: object, status: int = 200) -> None:
    """Writes a JSON response from a test HTTP server."""
    raw = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)

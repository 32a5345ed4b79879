"""Schema-driven fuzzing of the HTTP API: schemathesis against the OpenAPI a real ``scenebridge serve`` publishes.

A real server on 127.0.0.1 (lexical parser, ``--llm none``) over a real store: a slice of the shared Amazon
art/office catalogue indexed with the multilingual USE embedder, as a quick start builds it. Every operation and
method, positive and negative cases (examples, coverage, fuzzing phases), and the stateful phase along the OpenAPI
links (open a session, then turn, stream, edit, read and end it). Every check is on: a 5xx, a status or a body the
schema does not declare, a schema-valid request refused, a schema-invalid one accepted, a 405 without ``Allow``.
A request that does not answer within ``REQUEST_TIMEOUT`` seconds is an error (a hang fails the test), and so is a
run that outlives ``RUN_TIMEOUT``. The seed is fixed.

Budget: ``SCENEBRIDGE_FUZZ_EXAMPLES`` examples per operation and phase (``CI_EXAMPLES`` by default, about a
minute here; the reliability report runs ``FUZZ_REPORT_EXAMPLES``). With ``SCENEBRIDGE_RELIABILITY_OUT=DIR`` the figures
go to ``DIR/fuzz.json`` (the shape :mod:`scenebridge.bench.reliability` renders), also when the run fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scenebridge.bench.reliability import OUT_ENV, write_part
from tests.helpers import free_port, scenebridge_serve
from tests.integration.reliability_store import build_home, serve_args

pytestmark = pytest.mark.integration

PER_SCENE = 60  # items of each scene in the fuzzed store
SEED = 20261202
CI_EXAMPLES = 12  # the report runs FUZZ_REPORT_EXAMPLES
EXAMPLES = int(os.environ.get("SCENEBRIDGE_FUZZ_EXAMPLES", CI_EXAMPLES))
REQUEST_TIMEOUT = 30.0
RUN_TIMEOUT = 120 + 6 * EXAMPLES  # seconds; the report budget takes several minutes on 2 busy cores
# Generated requests counted by the server, and at least this many test cases (CI budget) from schemathesis.
MIN_CASES = 300


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home with a real two-scene store."""
    return build_home(tmp_path_factory.mktemp("fuzz-home"), PER_SCENE)


def _st_command(url: str, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
        "--checks", "all", "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--request-timeout", str(REQUEST_TIMEOUT), "--generation-database", "none",
        "--report", "json", "--report-json-path", str(report), "--no-color", "--warnings", "off",
    ]  # fmt: skip


def _served(url: str) -> dict[tuple[str, str, str], float]:
    """Requests the server answered, by (endpoint, method, status), from its own /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    pattern = r'^scenebridge_http_requests_total\{endpoint="([^"]*)",method="([^"]*)",status="(\d+)"\} (\S+)$'
    return {(e, m, s): float(n) for e, m, s, n in re.findall(pattern, text, flags=re.MULTILINE)}


def test_the_api_holds_to_its_published_schema(home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SCENEBRIDGE_HOME": str(home)}
    args = serve_args(home)
    report = tmp_path / "schemathesis.json"
    with scenebridge_serve(args, free_port(), env=env) as (url, proc):
        start = time.monotonic()
        try:
            run = subprocess.run(_st_command(url, report), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                                 check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT} s (a hang?)")
        seconds = time.monotonic() - start
        alive = proc.poll() is None
        served = _served(url) if alive else {}
    doc = json.loads(report.read_text()) if report.is_file() else {}
    cases = doc.get("test_cases", {})
    failures = {f"{f['code']} {f['title']}": f["count"] for f in doc.get("failures", [])}
    errors = {e["title"]: e["count"] for e in doc.get("errors", [])}
    requests = sum(n for (endpoint, _, _), n in served.items() if endpoint != "/metrics")
    server_errors = sum(n for (endpoint, _, status), n in served.items() if status.startswith("5"))
    by_status: dict[str, float] = {}
    for (_, _, status), n in served.items():
        by_status[status] = by_status.get(status, 0) + n
    ops = doc.get("operations") or {}
    phases = ", ".join(f"{p} ({v['status']})" for p, v in (doc.get("phases") or {}).items())
    write_part(
        "fuzz",
        title="Schema-driven fuzzing of the HTTP API (schemathesis)",
        command=f"{OUT_ENV}=benchmarks/results/reliability SCENEBRIDGE_FUZZ_EXAMPLES={EXAMPLES} .venv/bin/python -m "
        "pytest -q -p no:cacheprovider tests/integration/test_http_fuzz.py",
        figures={
            "test cases generated": cases.get("generated", 0),
            "requests answered by the server": int(requests),
            "operations tested": ops.get("tested", 0),
            "operations in the schema": ops.get("total", 0),
            "test cases with failures": cases.get("with_failures", 0),
            "unique failures": cases.get("unique_failures", 0),
            "server errors (5xx)": int(server_errors),
            # ST103-ST111: a status, content type, header or body the schema does not declare.
            "schema violations": sum(n for code, n in failures.items() if "ST103" <= code[:5] <= "ST111"),
            # ST201-ST205: a schema-valid request refused, an invalid one accepted, a 405 without Allow.
            "schema disagreements": sum(n for code, n in failures.items() if code.startswith("ST2")),
            "errors (network, timeouts)": sum(errors.values()),
            "examples per operation and phase": EXAMPLES,
            "seed": str(SEED),
            "seconds": round(seconds, 1),
            **{f"failures: {code}": n for code, n in sorted(failures.items())},
            **{f"answered {status}": int(n) for status, n in sorted(by_status.items())},
        },
        notes=[
            f"schemathesis {doc.get('schemathesis_version', '?')}, all checks, positive and negative modes, phases "
            f"{phases}; stop reason {doc.get('stop_reason', '?')}",
            f"a real `scenebridge serve --llm none` over {PER_SCENE} art + {PER_SCENE} office items of "
            "amazon-art-office (use-multilingual), on 127.0.0.1; requests counted by the server's own /metrics",
            f"budget: {EXAMPLES} examples per operation and phase; `make test` runs {CI_EXAMPLES} (the variable "
            "SCENEBRIDGE_FUZZ_EXAMPLES unset), the report run (`python -m scenebridge.bench.reliability`) more",
        ],
    )
    tail = (run.stdout + run.stderr)[-6000:]
    assert alive, f"the server died during the fuzzing:\n{tail}"
    assert doc, f"schemathesis wrote no report (exit {run.returncode}):\n{tail}"
    assert doc["complete"], tail
    assert doc["stop_reason"] == "completed", tail
    assert not failures, f"failures by check {failures}:\n{tail}"
    assert not errors, f"errors {errors}:\n{tail}"
    assert server_errors == 0, tail
    assert ops["tested"] == ops["total"], ops
    assert run.returncode == 0, tail
    assert cases["generated"] >= MIN_CASES, cases
    assert requests >= MIN_CASES, served

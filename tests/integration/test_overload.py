"""Overload: 16 clients at once against a real ``scenebridge serve`` with the real Qwen2.5-Coder-0.5B in-process.

The server runs one turn at a time (``[api] max_turns=1``: the in-process model serialises them anyway) and queues
``QUEUE`` more for up to ``QUEUE_WAIT_S`` seconds. Every request must end with 200, or 429/503 with a
``Retry-After`` — none waits without end (each client gives up after ``CLIENT_TIMEOUT_S``, which fails the test);
the accepted requests' p95 stays under the queue wait plus one slow turn; a sampler reading ``/metrics`` never sees
more than ``QUEUE`` turns waiting or more than one running, and the server's shed count is the clients' count.
Bounded: ``CLIENTS`` x ``ROUNDS`` requests. With ``SCENEBRIDGE_RELIABILITY_OUT=DIR`` the figures go to
``DIR/overload.json``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from scenebridge.bench.reliability import OUT_ENV, write_part
from tests.helpers import free_port, scenebridge_serve
from tests.integration.reliability_store import build_home, serve_args

pytestmark = pytest.mark.integration

MODEL = "qwen2.5-coder-0.5b"
CLIENTS, ROUNDS = 16, 3
QUEUE, QUEUE_WAIT_S = 4, 20.0
CLIENT_TIMEOUT_S = 90.0
SLOW_TURN_S = 25.0  # one turn of the 0.5B model on a busy 2-core machine, generously (or 3x the warm-up turn)
STATEMENTS = [
    "gel pens for the office, no black ink",
    "watercolor paint set for a beginner",
    "我想买办公室用的订书机",
    "a sketchbook and brush pens",
    "desk organizer, not plastic",
    "推荐几支水彩笔，不要马克笔",
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("llama_cpp")
    from scenebridge.llm.models import model_path

    if not model_path(MODEL).is_file():
        pytest.skip(f"{MODEL} is not installed (scenebridge models install {MODEL})")
    return build_home(tmp_path_factory.mktemp("overload-home"), 40)


def _gauges(url: str) -> tuple[float, float, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text

    def one(name: str) -> float:
        found = re.search(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, flags=re.MULTILINE)
        return float(found.group(1)) if found else float("nan")

    shed = sum(float(n) for n in re.findall(r"^scenebridge_turns_shed_total\{[^}]*\} (\S+)$", text, re.MULTILINE))
    return one("scenebridge_turn_queue_depth"), one("scenebridge_turns_in_flight"), shed


def test_sixteen_clients_get_answers_or_a_retry_after_never_an_endless_wait(home: Path) -> None:
    env = {**os.environ, "SCENEBRIDGE_HOME": str(home), "SCENEBRIDGE_API_MAX_TURNS": "1",
           "SCENEBRIDGE_API_TURN_QUEUE": str(QUEUE), "SCENEBRIDGE_API_QUEUE_WAIT_S": str(QUEUE_WAIT_S)}  # fmt: skip
    results: list[tuple[int, float, str | None]] = []  # status, seconds, Retry-After
    problems: list[str] = []
    lock = threading.Lock()
    from scenebridge.llm.models import model_path

    # The file itself: the server's SCENEBRIDGE_HOME is the test's, without the installed models.
    gguf = str(model_path(MODEL))
    with scenebridge_serve(serve_args(home, gguf), free_port(), env=env, timeout=180) as (url, _):
        load_before = os.getloadavg()[0]
        warm_start = time.perf_counter()
        warm = httpx.post(f"{url}/v1/recommend", json={"statement": STATEMENTS[0]}, timeout=180)  # loads the model
        slow_turn = max(SLOW_TURN_S, 3 * (time.perf_counter() - warm_start))
        assert warm.status_code == 200, warm.text
        assert warm.json()["parse_source"] in ("llm", "llm-repair")
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                depth, flight, _ = _gauges(url)
                samples.append((depth, flight))
                done.wait(0.25)

        def client(n: int) -> None:
            with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S) as http:
                for r in range(ROUNDS):
                    start = time.perf_counter()
                    try:
                        resp = http.post("/v1/recommend", json={"statement": STATEMENTS[(n + r) % len(STATEMENTS)]},
                                         headers={"X-User-Id": f"client-{n}"})  # fmt: skip
                    except httpx.HTTPError as exc:  # a timeout here is an endless wait
                        with lock:
                            problems.append(f"client {n} round {r}: {type(exc).__name__}")
                        continue
                    took = time.perf_counter() - start
                    with lock:
                        results.append((resp.status_code, took, resp.headers.get("retry-after")))
                        if resp.status_code not in (200, 429, 503):
                            problems.append(f"client {n} round {r}: HTTP {resp.status_code} {resp.text[:200]}")
                    if resp.status_code in (429, 503):
                        time.sleep(min(2.0, float(resp.headers.get("retry-after", "1"))))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
        wall = time.perf_counter() - start
        done.set()
        sampler.join(timeout=15)
        _, _, shed_by_server = _gauges(url)
        stage_text = httpx.get(f"{url}/metrics", timeout=10).text
    accepted = sorted(t for s, t, _ in results if s == 200)
    shed = [(s, ra) for s, _, ra in results if s in (429, 503)]
    p95 = float(np.percentile(accepted, 95)) if accepted else float("nan")
    parse_sum = re.search(r'^scenebridge_turn_stage_seconds_sum\{stage="parse"\} (\S+)$', stage_text, re.MULTILINE)
    parse_n = re.search(r'^scenebridge_turn_stage_seconds_count\{stage="parse"\} (\S+)$', stage_text, re.MULTILINE)
    mean_parse = float(parse_sum.group(1)) / float(parse_n.group(1)) if parse_sum and parse_n else float("nan")
    write_part(
        "overload",
        title=f"Overload: {CLIENTS} clients, the real {MODEL} in-process",
        command=f"{OUT_ENV}=benchmarks/results/reliability .venv/bin/python -m pytest -q -p no:cacheprovider "
        "tests/integration/test_overload.py",
        figures={
            "clients": CLIENTS,
            "requests sent": CLIENTS * ROUNDS,
            "requests answered 200": len(accepted),
            "requests shed": len(shed),
            "shed 429 (queue full)": sum(s == 429 for s, _ in shed),
            "shed 503 (wait ran out)": sum(s == 503 for s, _ in shed),
            "shed counted by /metrics": int(shed_by_server),
            "client timeouts (endless waits)": sum("Timeout" in p for p in problems),
            "accepted p50 s": round(float(np.percentile(accepted, 50)), 2) if accepted else "none",
            "accepted p95 s": round(p95, 2) if accepted else "none",
            "accepted max s": round(accepted[-1], 2) if accepted else "none",
            "mean parse stage s (/metrics)": round(mean_parse, 2),
            "max queue depth seen": max((d for d, _ in samples), default=0),
            "max turns in flight seen": max((f for _, f in samples), default=0),
            "wall s": round(wall, 1),
            "load average before (1 min, 2 cores)": round(load_before, 1),
        },
        notes=[f"[api] max_turns=1, turn_queue={QUEUE}, queue_wait_s={QUEUE_WAIT_S:g}; each client sends {ROUNDS} "
               "one-off recommendations back to back and waits min(Retry-After, 2 s) after a refusal; "
               f"/metrics sampled every 0.25 s ({len(samples)} samples)"],
    )  # fmt: skip
    assert not problems, problems
    assert accepted, "no request was answered"
    assert shed, "16 clients against 1 slot and a queue of 4 were never refused: the gate did not bound the queue"
    assert all(ra is not None and int(ra) >= 1 for _, ra in shed), shed
    assert p95 <= QUEUE_WAIT_S + slow_turn, accepted  # a queued wait, then its own turn
    assert max(d for d, _ in samples) <= QUEUE
    assert max(f for _, f in samples) <= 1
    assert int(shed_by_server) == len(shed)

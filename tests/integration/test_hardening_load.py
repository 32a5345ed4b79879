"""Bounded load on the real HTTP server (uvicorn on 127.0.0.1): 32 concurrent sessions x 20 turns with a
deterministic fake LLM. No errors, no cross-session leakage, p50/p95 latency reported (run with ``-s``)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import numpy as np
import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.http import ApiSettings, create_app, running
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import ITEMS, build_store

pytestmark = pytest.mark.integration

SESSIONS, TURNS = 32, 20
TOPICS = ["watercolor paint", "gel pens", "copy paper", "stapler", "desk organizer", "brush pens", "acrylic paint"]
FOLLOW_UPS = ["not paper", "cheaper", "more like the second one", "not toner"]
CATALOGUE = {i[0]: i for i in ITEMS}


class EchoLLM:
    """A thread-safe fake that answers the parse prompt from the statement's own words (no shared script)."""

    name = "fake-echo"

    def complete(self, messages, schema=None, max_tokens=512):
        statement = messages[-1]["content"].split("Statement:", 1)[-1]
        scene = "art" if re.search(r"\bart\b", statement) else "office"
        topics = [t for t in TOPICS if t in statement] or ["pens"]
        excl = re.findall(r"\bno (\w+)", statement)
        return json.dumps({"topics": topics, "scene": scene, "exclusions": excl})


async def _session(
    client: httpx.AsyncClient, n: int, latencies: list[float], problems: list[str], server_ms: list[float]
) -> None:
    user = {"X-User-Id": f"user-{n}"}
    scene = "art" if n % 2 else "office"
    marker = f"zz{n}marker"  # an exclusion only this session states
    resp = await client.post("/v1/sessions", json={"scene": scene}, headers=user)
    sid = resp.json()["session_id"]
    for t in range(TURNS):
        if t % 5 == 0:
            text = f"{TOPICS[(n + t) % len(TOPICS)]} for the {scene} shop, no {marker}"
        else:
            text = FOLLOW_UPS[t % len(FOLLOW_UPS)]
        start = time.perf_counter()
        resp = await client.post(f"/v1/sessions/{sid}/turns", json={"statement": text}, headers=user)
        latencies.append(time.perf_counter() - start)
        if resp.status_code != 200:
            problems.append(f"session {n} turn {t}: HTTP {resp.status_code} {resp.text[:200]}")
            continue
        body = resp.json()
        server_ms.append(body["timings_ms"]["total"])
        if body["session_id"] != sid or body["user_id"] != f"user-{n}":
            problems.append(f"session {n} turn {t}: answered for {body['session_id']} / {body['user_id']}")
        leaked = [e for e in body["summary"]["exclusions"] if e.startswith("zz") and e != marker]
        if leaked or marker not in body["summary"]["exclusions"]:
            problems.append(f"session {n} turn {t}: exclusions {body['summary']['exclusions']}")
        if body["scene"] != scene or any(CATALOGUE[i["item_id"]][1] != scene for i in body["items"]):
            problems.append(f"session {n} turn {t}: scene {body['scene']}, wanted {scene}")
    info = (await client.get(f"/v1/sessions/{sid}", headers=user)).json()
    if len(info["turns"]) != TURNS or info["user_id"] != f"user-{n}":
        problems.append(f"session {n}: log has {len(info['turns'])} turns for {info['user_id']}")
    other = await client.get(f"/v1/sessions/{sid}", headers={"X-User-Id": f"user-{n + 1}"})
    if other.status_code != 404:
        problems.append(f"session {n}: another user read it ({other.status_code})")


async def _load(url: str) -> tuple[list[float], list[str], float, list[float]]:
    latencies: list[float] = []
    problems: list[str] = []
    server_ms: list[float] = []
    limits = httpx.Limits(max_connections=SESSIONS, max_keepalive_connections=SESSIONS)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(_session(client, n, latencies, problems, server_ms) for n in range(SESSIONS)))
        return latencies, problems, time.perf_counter() - start, server_ms


def test_concurrent_sessions_against_the_real_server(tmp_path):
    rec = Recommender(build_store(tmp_path / "store"), llm=EchoLLM(), profiles=ProfileStore(":memory:"), k=5)
    app = create_app(rec, ApiSettings(max_sessions_per_user=5))
    with running(app) as url:
        latencies, problems, wall, server_ms = asyncio.run(_load(url))
    assert problems == [], problems[:10]
    assert len(latencies) == SESSIONS * TURNS
    p50, p95 = (float(np.percentile(latencies, q)) * 1000 for q in (50, 95))
    print(f"\nload: {SESSIONS} sessions x {TURNS} turns = {len(latencies)} turns in {wall:.1f} s "
          f"({len(latencies) / wall:.0f} turns/s), 0 errors, 0 leaks; turn latency p50 {p50:.0f} ms, "
          f"p95 {p95:.0f} ms; the turn itself (server timings) p50 {np.percentile(server_ms, 50):.0f} ms, "
          f"p95 {np.percentile(server_ms, 95):.0f} ms")  # fmt: skip
    assert wall < 120

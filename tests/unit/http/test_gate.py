"""The turn gate: bounded running and waiting turns, 429/503 with Retry-After, slots never lost; in-process (asyncio,
and the app through httpx's ASGI transport: no sockets)."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.errors import OverloadError
from scenebridge.http import ApiSettings, create_app
from scenebridge.http.gate import TurnGate
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


async def test_the_gate_runs_some_queues_some_and_refuses_the_rest():
    shed: list[str] = []
    gate = TurnGate(max_running=1, max_waiting=1, wait_s=5, on_shed=shed.append)
    first = await gate.enter()
    waiter = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    assert (gate.running, gate.waiting) == (1, 1)
    with pytest.raises(OverloadError) as refused:
        await gate.enter()
    assert not refused.value.waited
    assert refused.value.retry_after >= 1
    assert shed == ["queue_full"]
    first.release()
    second = await asyncio.wait_for(waiter, 1)  # the slot passed straight to the waiting turn
    assert (gate.running, gate.waiting) == (1, 0)
    first.release()  # a second release of the same slot changes nothing
    assert gate.running == 1
    second.release()
    assert (gate.running, gate.waiting) == (0, 0)


async def test_a_wait_that_runs_out_is_a_503_and_frees_its_place():
    shed: list[str] = []
    gate = TurnGate(max_running=1, max_waiting=1, wait_s=0.05, on_shed=shed.append)
    held = await gate.enter()
    with pytest.raises(OverloadError) as late:
        await gate.enter()
    assert late.value.waited
    assert shed == ["queue_timeout"]
    assert gate.waiting == 0
    held.release()
    (await gate.enter()).release()  # nothing leaked: the gate admits again at once
    assert (gate.running, gate.waiting) == (0, 0)


async def test_a_cancelled_waiter_and_a_release_from_a_worker_thread_lose_no_slot():
    gate = TurnGate(max_running=1, max_waiting=2, wait_s=5)
    held = await gate.enter()
    gone = asyncio.ensure_future(gate.enter())
    kept = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    gone.cancel()  # its client left while it waited
    await asyncio.sleep(0)
    assert gate.waiting == 1
    thread = threading.Thread(target=held.release)  # a streamed turn ends in a worker thread
    thread.start()
    thread.join()
    slot = await asyncio.wait_for(kept, 1)
    slot.release()
    assert (gate.running, gate.waiting) == (0, 0)


async def test_retry_after_grows_with_the_queue():
    gate = TurnGate(max_running=1, max_waiting=8, wait_s=5)
    for _ in range(3):
        (await gate.enter()).release()
    quiet = gate.retry_after()
    held = await gate.enter()
    waiters = [asyncio.ensure_future(gate.enter()) for _ in range(4)]
    await asyncio.sleep(0)
    assert gate.retry_after() >= quiet
    assert gate.retry_after() >= 1
    held.release()
    for w in waiters:
        (await asyncio.wait_for(w, 1)).release()


# -- through the app -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


def blocked_app(store, release: threading.Event, limits: ApiSettings):
    """An app whose turns wait for ``release`` (a slow model, without one)."""
    rec = Recommender(store, profiles=ProfileStore(":memory:"), k=3)
    real = rec.turn

    def slow(*args, **kwargs):
        release.wait(10)
        return real(*args, **kwargs)

    rec.turn = slow  # type: ignore[method-assign]
    return create_app(rec, limits)


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def test_turns_beyond_the_queue_get_429_with_retry_after_and_the_rest_are_answered(store):
    release = threading.Event()
    app = blocked_app(store, release, ApiSettings(max_turns=1, turn_queue=1, queue_wait_s=10))
    body = {"statement": "gel pens for the office"}
    async with client(app) as http:
        tasks = [asyncio.ensure_future(http.post("/v1/recommend", json=body)) for _ in range(2)]
        while app.state.gate.waiting < 1:  # one runs (blocked), one waits
            await asyncio.sleep(0.01)
        shed = await http.post("/v1/recommend", json=body)
        assert shed.status_code == 429, shed.text
        assert int(shed.headers["retry-after"]) >= 1
        assert shed.json()["error"]["type"] == "overloaded"
        depth = (await http.get("/metrics")).text
        assert "scenebridge_turn_queue_depth 1.0" in depth
        assert "scenebridge_turns_in_flight 1.0" in depth
        release.set()
        answered = await asyncio.gather(*tasks)
        assert [r.status_code for r in answered] == [200, 200]
        text = (await http.get("/metrics")).text
    assert 'scenebridge_turns_shed_total{reason="queue_full"} 1.0' in text
    assert 'scenebridge_http_requests_total{endpoint="/v1/recommend",method="POST",status="429"} 1.0' in text
    assert 'scenebridge_http_requests_total{endpoint="/v1/recommend",method="POST",status="200"} 2.0' in text
    assert 'scenebridge_turn_stage_seconds_count{stage="total"} 2.0' in text
    assert "scenebridge_turn_queue_depth 0.0" in text


async def test_a_queued_turn_whose_wait_runs_out_gets_503_and_a_stream_is_refused_before_it_starts(store):
    release = threading.Event()
    app = blocked_app(store, release, ApiSettings(max_turns=1, turn_queue=1, queue_wait_s=0.2))
    async with client(app) as http:
        sid = (await http.post("/v1/sessions", headers={"X-User-Id": "ann"})).json()["session_id"]
        running = asyncio.ensure_future(http.post("/v1/recommend", json={"statement": "stapler for the office"}))
        while app.state.gate.running < 1:
            await asyncio.sleep(0.01)
        ask = {"statement": "pens for the office"}
        late = await http.post(f"/v1/sessions/{sid}/turns", json=ask, headers={"X-User-Id": "ann"})
        assert late.status_code == 503, late.text
        assert int(late.headers["retry-after"]) >= 1
        streamed = await http.post(f"/v1/sessions/{sid}/turns/stream", json={"statement": "pens for the office"},
                                   headers={"X-User-Id": "ann"})  # fmt: skip
        assert streamed.status_code == 503  # JSON, before any event
        assert streamed.headers["content-type"].startswith("application/json")
        release.set()
        assert (await running).status_code == 200
        ok = await http.post(f"/v1/sessions/{sid}/turns/stream", json={"statement": "pens for the office"},
                             headers={"X-User-Id": "ann"})  # fmt: skip
        assert ok.status_code == 200
        assert "event: done" in ok.text
        text = (await http.get("/metrics")).text
    assert 'scenebridge_turns_shed_total{reason="queue_timeout"} 2.0' in text
    assert app.state.gate.running == 0  # the streamed turn gave its slot back from its worker thread

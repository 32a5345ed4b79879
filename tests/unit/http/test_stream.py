"""The streamed turn (server-sent events), the session edit and the page's files, in-process (FastAPI TestClient)."""

from __future__ import annotations

import asyncio
import json
import re
import threading

import pytest
from fastapi.testclient import TestClient

from scenebridge.agent.turn import Recommender, TurnResult
from scenebridge.http import ApiSettings, create_app
from scenebridge.http.page import WEB_DIR
from scenebridge.http.stream import stream_turn
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit
ANN = {"X-User-Id": "ann"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def client(store):
    rec = Recommender(store, profiles=ProfileStore(":memory:"), k=4)
    return TestClient(create_app(rec, ApiSettings(token=None)), raise_server_exceptions=False)


def events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def stream(client: TestClient, sid: str, statement: str, **extra: object) -> list[tuple[str, dict]]:
    resp = client.post(f"/v1/sessions/{sid}/turns/stream", json={"statement": statement, **extra}, headers=ANN)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    return events(resp.text)


def test_a_streamed_turn_sends_parsed_ranked_each_explanation_then_the_result(client):
    sid = client.post("/v1/sessions", json={"scene": "office"}, headers=ANN).json()["session_id"]
    got = stream(client, sid, "watercolor paper and pens, no printer ink")
    names = [n for n, _ in got]
    assert names == ["parsed", "ranked", *["explained"] * 4, "done"]
    parsed, ranked, done = got[0][1], got[1][1], got[-1][1]
    assert parsed["scene"] == "office"
    assert "printer ink" in parsed["summary"]["exclusions"]
    assert "parse" in parsed["timings_ms"]
    assert "rerank" not in parsed["timings_ms"]
    assert [i["item_id"] for i in ranked["items"]] == [i["item_id"] for i in done["items"]]
    assert [d["explanation"] for n, d in got if n == "explained"] == [i["explanation"] for i in done["items"]]
    stamps = [d["server_ms"] for _, d in got]
    assert stamps == sorted(stamps)
    # The streamed turn is logged like the JSON one.
    info = client.get(f"/v1/sessions/{sid}", headers=ANN).json()
    assert [t["statement"] for t in info["turns"]] == ["watercolor paper and pens, no printer ink"]


def test_a_failing_streamed_turn_ends_with_one_error_event_and_a_missing_session_is_a_404(client):
    sid = client.post("/v1/sessions", headers=ANN).json()["session_id"]
    got = stream(client, sid, "pens", scene="garden")
    assert [n for n, _ in got] == ["error"]
    assert got[0][1]["error"]["type"] == "UsageError"
    assert "unknown scene 'garden'" in got[0][1]["error"]["message"]
    missing = client.post("/v1/sessions/nope/turns/stream", json={"statement": "pens"}, headers=ANN)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"


def test_editing_a_session_drops_an_exclusion_and_moves_the_scene(client):
    sid = client.post("/v1/sessions", json={"scene": "office"}, headers=ANN).json()["session_id"]
    stream(client, sid, "watercolor paper and pens, no printer ink")
    edited = client.patch(f"/v1/sessions/{sid}", json={"remove_exclusions": ["Printer Ink"], "scene": "art"},
                          headers=ANN)  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert edited.json()["exclusions"] == []
    assert edited.json()["scene"] == "art"
    follow = stream(client, sid, "cheaper")[-1][1]
    assert follow["scene"] == "art"
    assert "printer ink" not in follow["summary"]["exclusions"]
    bad = client.patch(f"/v1/sessions/{sid}", json={"scene": "garden"}, headers=ANN)
    assert bad.status_code == 400
    assert "unknown scene" in bad.json()["error"]["message"]
    other = client.patch(f"/v1/sessions/{sid}", json={"scene": "art"}, headers={"X-User-Id": "bo"})
    assert other.status_code == 404


def test_the_page_and_its_assets_are_served_without_remote_resources(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("app.js", "app.css", "sse.js", "strings.json"):
        assert client.get(f"/web/{asset}").status_code == 200
    for path in WEB_DIR.iterdir():
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()), path.name  # no remote URL
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_every_string_the_page_uses_exists_in_english_and_chinese():
    strings = json.loads((WEB_DIR / "strings.json").read_text())
    assert strings["en"].keys() == strings["zh"].keys()
    used = set(re.findall(r'data-i18n(?:-aria|-placeholder)?="(\w+)"', (WEB_DIR / "index.html").read_text()))
    used |= set(re.findall(r'\bt\("(\w+)"', (WEB_DIR / "app.js").read_text()))
    assert len(used) > 40
    assert used <= strings["en"].keys(), used - strings["en"].keys()
    for lang in ("en", "zh"):
        assert all(v.strip() for v in strings[lang].values())
    assert all(strings["en"][k] != strings["zh"][k] for k in used if k != "title")  # translated, not copied


async def test_a_stream_nobody_reads_still_finishes_its_turn_and_frees_its_slot():
    """The turn starts when the stream is made, not when it is first read: a client that leaves before the first
    byte still has its turn logged, and the gate's slot (``finally_``) comes back."""
    ran, logged, freed = threading.Event(), threading.Event(), threading.Event()

    def run(emit):
        ran.set()
        raise ValueError("a turn that fails")  # after() is skipped, finally_ still runs

    def after(result: TurnResult) -> None:
        logged.set()

    events = stream_turn(run, after, finally_=freed.set)
    for _ in range(200):
        if freed.is_set():
            break
        await asyncio.sleep(0.01)
    assert ran.is_set()
    assert freed.is_set()
    assert not logged.is_set()
    await events.aclose()  # never read

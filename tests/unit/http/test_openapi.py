"""The published OpenAPI tells the truth: what it allows is answered, what it forbids is refused with a status it
declares; a 405 names the allowed methods; /metrics is the Prometheus text format. In-process (TestClient)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from scenebridge.agent.turn import Recommender
from scenebridge.http import ApiSettings, create_app
from scenebridge.http.schemas import STATEMENT_PATTERN
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit
ANN = {"X-User-Id": "ann"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    rec = Recommender(build_store(tmp_path_factory.mktemp("store")), profiles=ProfileStore(":memory:"), k=3)
    return TestClient(create_app(rec, ApiSettings()), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/openapi.json").json()


def test_the_statement_schema_is_what_the_turn_accepts(spec, client):
    prop = spec["components"]["schemas"]["TurnRequest"]["properties"]["statement"]
    assert (prop["minLength"], prop["maxLength"], prop["pattern"]) == (1, 4000, STATEMENT_PATTERN)
    sid = client.post("/v1/sessions", json={"scene": "office"}, headers=ANN).json()["session_id"]
    # Allowed by the pattern: answered (the blanks around the words are the turn's to strip).
    for text in ("\u3000gel pens\u3000", "x", "🎨"):
        assert re.search(STATEMENT_PATTERN, text)
        assert client.post(f"/v1/sessions/{sid}/turns", json={"statement": text}, headers=ANN).status_code == 200
    # Forbidden by it: refused with the declared 422, before any turn runs.
    for text in ("", " \t\n", "\x00\x1b", "\u2028\u00a0", "s" * 4001):
        assert not re.search(STATEMENT_PATTERN, text) or len(text) > 4000
        resp = client.post(f"/v1/sessions/{sid}/turns", json={"statement": text}, headers=ANN)
        assert resp.status_code == 422, (text[:10], resp.text)


def test_scenes_are_an_enum_of_the_stores_scenes(spec):
    for name in ("RecommendRequest", "TurnRequest", "SessionCreate", "SessionEdit"):
        branches = spec["components"]["schemas"][name]["properties"]["scene"]["anyOf"]
        assert {"type": "string", "enum": ["art", "office"]} in branches, name


def test_the_user_header_is_required_where_it_is_needed(spec):
    def header(path: str, method: str) -> dict:
        (param,) = [p for p in spec["paths"][path][method]["parameters"] if p["in"] == "header"]
        return param

    assert header("/v1/sessions/{session_id}/turns", "post")["required"] is True
    assert header("/v1/users/{user_id}/feedback", "post")["required"] is True
    assert header("/v1/recommend", "post").get("required", False) is False
    (text,) = [b for b in header("/v1/recommend", "post")["schema"]["anyOf"] if b["type"] == "string"]
    assert (text["minLength"], text["maxLength"]) == (1, 200)


def test_turn_endpoints_declare_429_with_retry_after_and_sessions_link_to_their_operations(spec):
    for path in ("/v1/recommend", "/v1/sessions/{session_id}/turns", "/v1/sessions/{session_id}/turns/stream"):
        responses = spec["paths"][path]["post"]["responses"]
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        assert "Retry-After" in responses["503"]["headers"]
    links = spec["paths"]["/v1/sessions"]["post"]["responses"]["201"]["links"]
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {link["operationId"] for link in links.values()} <= ops
    assert links["turn"]["parameters"] == {"session_id": "$response.body#/session_id",
                                           "header.x-user-id": "$response.body#/user_id"}  # fmt: skip


def test_an_unknown_item_is_a_404_and_an_unsupported_method_a_405_with_allow(client):
    resp = client.post("/v1/users/ann/feedback", json={"item_id": "nope"}, headers=ANN)
    assert resp.status_code == 404
    put = client.put("/v1/recommend", json={"statement": "pens"})
    assert put.status_code == 405
    assert put.headers["allow"] == "POST"
    assert put.json()["error"]["type"] == "not_allowed"
    assert "GET" in client.post("/healthz").headers["allow"]
    # One path, three routes: the Allow of each names them all (Starlette's own named the first route's alone).
    assert client.options("/v1/sessions/s1").headers["allow"] == "DELETE, GET, PATCH"
    assert client.put("/v1/sessions/s1").headers["allow"] == "DELETE, GET, PATCH"


def test_metrics_are_prometheus_text_with_route_templates_only(client):
    sid = client.post("/v1/sessions", json={"scene": "office"}, headers=ANN).json()["session_id"]
    assert client.post(f"/v1/sessions/{sid}/turns", json={"statement": "gel pens"}, headers=ANN).status_code == 200
    client.get("/no/such/path/for/metrics")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert "# TYPE scenebridge_turn_stage_seconds histogram" in text
    assert re.search(r'scenebridge_turn_stage_seconds_count\{stage="retrieve"\} [1-9]', text)
    assert re.search(r'scenebridge_http_requests_total\{endpoint="/v1/sessions/\{session_id\}/turns",'
                     r'method="POST",status="200"\} [1-9]', text)  # fmt: skip
    assert 'endpoint="unmatched"' in text
    assert sid not in text  # labels never carry the path's ids
    assert "/no/such/path" not in text
    assert 'scenebridge_turns_shed_total{reason="queue_full"} 0.0' in text
    assert "scenebridge_turn_slots 4.0" in text


def test_metrics_need_the_token_when_one_is_set(tmp_path):
    rec = Recommender(build_store(tmp_path), k=3)
    guarded = TestClient(create_app(rec, ApiSettings(token="s3cret")), raise_server_exceptions=False)
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200

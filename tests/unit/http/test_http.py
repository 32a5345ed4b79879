"""The HTTP API in-process (FastAPI TestClient) over a real embedded store with hashing vectors, no LLM."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from scenebridge.agent.turn import Recommender
from scenebridge.http import ApiSettings, create_app
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def rec(store):
    return Recommender(store, profiles=ProfileStore(":memory:"), k=5)


@pytest.fixture
def client(rec):
    return TestClient(create_app(rec, ApiSettings(token=None)), raise_server_exceptions=False)


def as_user(user: str) -> dict[str, str]:
    return {"X-User-Id": user}


def test_health_and_openapi(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["scenes"] == ["art", "office"]
    spec = client.get("/openapi.json").json()
    assert {"/v1/recommend", "/v1/sessions", "/v1/sessions/{session_id}/turns", "/v1/sessions/{session_id}",
            "/v1/users/{user_id}", "/healthz"} <= set(spec["paths"])  # fmt: skip
    assert client.get("/docs").status_code == 200


def test_stateless_recommend_keeps_no_session(client, rec):
    resp = client.post("/v1/recommend", json={"statement": "watercolor pens for the office, no printer ink", "k": 4})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["scene"] == "office"
    assert len(body["items"]) == 4
    assert not {"o1", "o2"} & {i["item_id"] for i in body["items"]}
    assert len(rec.sessions) == 0


def test_a_session_conversation(client):
    sid = client.post("/v1/sessions", json={"scene": "office"}, headers=as_user("ann")).json()["session_id"]
    first = client.post(f"/v1/sessions/{sid}/turns", json={"statement": "watercolor paper and pens"},
                        headers=as_user("ann")).json()  # fmt: skip
    assert first["scene"] == "office"
    assert first["session_id"] == sid
    second = client.post(f"/v1/sessions/{sid}/turns", json={"statement": "not paper"}, headers=as_user("ann")).json()
    assert "exclusion added: paper" in second["refinements"]
    assert not any("paper" in i["title"] for i in second["items"])
    info = client.get(f"/v1/sessions/{sid}", headers=as_user("ann")).json()
    assert [t["statement"] for t in info["turns"]] == ["watercolor paper and pens", "not paper"]
    assert info["exclusions"] == ["paper"]
    assert client.delete(f"/v1/sessions/{sid}", headers=as_user("ann")).status_code == 204
    assert client.get(f"/v1/sessions/{sid}", headers=as_user("ann")).status_code == 404


def test_one_user_can_never_touch_another_users_session_or_profile(client, rec):
    sid = client.post("/v1/sessions", headers=as_user("ann")).json()["session_id"]
    client.post(f"/v1/sessions/{sid}/turns", json={"statement": "gel pens for the office"}, headers=as_user("ann"))
    rec.feedback("ann", "o4", "like")
    for method, path, body in [("GET", f"/v1/sessions/{sid}", None),
                               ("POST", f"/v1/sessions/{sid}/turns", {"statement": "not pens"}),
                               ("DELETE", f"/v1/sessions/{sid}", None)]:  # fmt: skip
        resp = client.request(method, path, json=body, headers=as_user("eve"))
        assert resp.status_code == 404, (method, resp.text)
        assert resp.json()["error"]["type"] == "not_found"
        # the same answer as for a session that does not exist: ids of others are not even confirmed
        missing = client.request(method, path.replace(sid, "0" * 32), json=body, headers=as_user("eve"))
        assert missing.json()["error"]["message"].replace("0" * 32, sid) == resp.json()["error"]["message"]
    forget = client.delete("/v1/users/ann", headers=as_user("eve"))
    assert forget.status_code == 403
    assert rec.profiles.events("ann")
    assert client.post(f"/v1/sessions/{sid}/turns", json={"statement": "no headers"}).status_code == 422
    info = client.get(f"/v1/sessions/{sid}", headers=as_user("ann")).json()
    assert len(info["turns"]) == 1  # eve changed nothing


def test_forget_deletes_profile_and_sessions(client, rec):
    sid = client.post("/v1/sessions", headers=as_user("bob")).json()["session_id"]
    client.post(f"/v1/sessions/{sid}/turns", json={"statement": "stapler for the office"}, headers=as_user("bob"))
    rec.feedback("bob", "o9", "like")
    body = client.delete("/v1/users/bob", headers=as_user("bob")).json()
    assert body == {"user_id": "bob", "profile_events_deleted": 1, "sessions_deleted": 1}
    assert rec.profiles.events("bob") == []
    assert client.get(f"/v1/sessions/{sid}", headers=as_user("bob")).status_code == 404
    assert len(rec.sessions) == 0


def test_bearer_token(rec):
    client = TestClient(create_app(rec, ApiSettings(token="s3cret")), raise_server_exceptions=False)
    body = {"statement": "stapler for the office"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        resp = client.post("/v1/recommend", json=body, headers=headers)
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"] == "Bearer"
    assert client.post("/v1/recommend", json=body, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"statement": "pens", "k": 0}, 422, "validation"),
        ({"statement": "pens", "colour": "red"}, 422, "validation"),
        ({}, 422, "validation"),
        ({"statement": 42}, 422, "validation"),
        ({"statement": "pens", "scene": "garden"}, 400, "UsageError"),
        ({"statement": "   "}, 422, "validation"),  # the schema's pattern: not blank
        ({"statement": "\x00\x07"}, 422, "validation"),  # control characters only: as blank
        ({"statement": ""}, 422, "validation"),
        ({"statement": "x" * 4001}, 422, "validation"),  # the schema's maxLength, the turn's own limit
    ],
)
def test_errors_are_clear_json(client, body, status, kind):
    resp = client.post("/v1/recommend", json=body)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["type"] == kind
    assert err["message"]
    assert "Traceback" not in resp.text


def test_bad_bytes_and_big_bodies(client, rec):
    resp = client.post("/v1/recommend", content=b'{"statement": "\xff\xfe pens"}',
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 400  # not UTF-8: the body cannot be parsed
    assert resp.json()["error"]["type"] == "bad_request"
    assert client.post("/v1/recommend", content=b"not json", headers={"Content-Type": "application/json"}
                       ).status_code == 422  # fmt: skip
    big = client.post("/v1/recommend", content=b"x" * 3_000_000, headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    assert big.json()["error"]["type"] == "too_large"


def test_an_internal_error_is_json_without_a_traceback(client, rec, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(rec, "turn", boom)
    resp = client.post("/v1/recommend", json={"statement": "pens"})
    assert resp.status_code == 500
    assert resp.json()["error"]["type"] == "internal"
    assert "secret" not in resp.text
    assert "Traceback" not in resp.text


def test_sessions_per_user_are_bounded(rec):
    client = TestClient(create_app(rec, ApiSettings(max_sessions_per_user=2)), raise_server_exceptions=False)
    for _ in range(2):
        assert client.post("/v1/sessions", headers=as_user("amy")).status_code == 201
    resp = client.post("/v1/sessions", headers=as_user("amy"))
    assert resp.status_code == 409
    assert resp.json()["error"]["type"] == "conflict"
    assert "open sessions" in resp.json()["error"]["message"]
    assert client.post("/v1/sessions", headers=as_user("other")).status_code == 201
    assert client.post("/v1/sessions", headers={"X-User-Id": " "}).status_code == 422


def test_feedback_over_http_changes_later_answers_and_is_per_user(client, rec):
    ask = {"statement": "heavy duty stapler for the office", "scene": "office", "k": 10}
    assert "o9" in [
        i["item_id"] for i in client.post("/v1/recommend", json=ask, headers=as_user("dana")).json()["items"]
    ]
    resp = client.post("/v1/users/dana/feedback", json={"item_id": "o9", "kind": "dislike"}, headers=as_user("dana"))
    assert resp.status_code == 201
    assert resp.json() == {"user_id": "dana", "item_id": "o9", "scene": "office", "kind": "dislike", "history_size": 0}
    after = client.post("/v1/recommend", json=ask, headers=as_user("dana")).json()["items"]
    assert "o9" not in [i["item_id"] for i in after]
    other = client.post("/v1/recommend", json=ask, headers=as_user("erin")).json()["items"]
    assert "o9" in [i["item_id"] for i in other]  # another user's profile is untouched
    liked = client.post("/v1/users/dana/feedback", json={"item_id": "a1", "kind": "purchase"}, headers=as_user("dana"))
    assert liked.json()["history_size"] == 1
    denied = client.post("/v1/users/erin/feedback", json={"item_id": "o9", "kind": "like"}, headers=as_user("dana"))
    assert denied.status_code == 403
    unknown = client.post("/v1/users/dana/feedback", json={"item_id": "nope"}, headers=as_user("dana"))
    assert unknown.status_code == 404  # a well-formed id of no item: a missing resource, as the schema says
    assert "not in the catalogue" in unknown.json()["error"]["message"]
    bad = client.post("/v1/users/dana/feedback", json={"item_id": "o9", "kind": "love"}, headers=as_user("dana"))
    assert bad.status_code == 422


def test_the_api_lists_only_sessions_the_agent_continues(rec):
    """Regression: the API kept its own session registry beside the agent's; with ``max_sessions`` above the agent's
    fixed 10,000 it listed sessions the agent had dropped (a turn then silently started over)."""
    create_app(rec, ApiSettings(max_sessions=10_050))
    assert rec.sessions.max_sessions == 10_050  # the app's limits size the agent's one store
    client = TestClient(create_app(rec, ApiSettings(max_sessions=3)), raise_server_exceptions=False)
    opened = [(client.post("/v1/sessions", json={"scene": "office"}, headers=as_user(f"u{n}")).json()["session_id"],
               f"u{n}") for n in range(4)]  # fmt: skip
    listed = [(sid, user) for sid, user in opened
              if client.get(f"/v1/sessions/{sid}", headers=as_user(user)).status_code == 200]  # fmt: skip
    assert listed == opened[1:]  # the least recently used one went, from the one store
    assert all(rec.sessions.find(sid, user) is not None for sid, user in listed)
    assert client.get("/healthz").json()["sessions"] == len(rec.sessions) == 3
    sid, user = listed[0]
    client.post(f"/v1/sessions/{sid}/turns", json={"statement": "watercolor paper and pens"}, headers=as_user(user))
    second = client.post(f"/v1/sessions/{sid}/turns", json={"statement": "not paper"}, headers=as_user(user)).json()
    assert second["session_id"] == sid
    assert "exclusion added: paper" in second["refinements"]  # the agent continued the session the API listed
    assert rec.sessions.find(sid, user).turns == 2
    info = client.get(f"/v1/sessions/{sid}", headers=as_user(user)).json()
    assert [t["statement"] for t in info["turns"]] == ["watercolor paper and pens", "not paper"]
    assert (info["scene"], info["exclusions"]) == ("office", ["paper"])
    assert len(rec.sessions) == 3

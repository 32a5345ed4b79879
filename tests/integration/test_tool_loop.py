"""The function-calling loop against a scripted OpenAI-compatible server on 127.0.0.1 (a fake model, real HTTP)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.errors import LLMError
from scenebridge.store.profiles import ProfileStore
from scenebridge.tools import Toolkit, run_tool_loop
from tests.helpers import send_json, serve
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.integration


def _tool_call(call_id: str, name: str, arguments: dict) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _completion(message: dict) -> dict:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                         "message": {"role": "assistant", "content": None, **message}}]}  # fmt: skip


def scripted(script: list[dict], requests: list[dict]) -> type[BaseHTTPRequestHandler]:
    """A handler answering /v1/chat/completions with the next scripted message; keeps every request body."""
    script = list(script)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            send_json(self, _completion(script.pop(0)))

        def log_message(self, *args):
            return None

    return Handler


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory):
    return Toolkit(Recommender(build_store(tmp_path_factory.mktemp("store")), profiles=ProfileStore(":memory:")))


def _client(url):
    from openai import OpenAI

    return OpenAI(base_url=url, api_key="none", max_retries=0, timeout=10)


def test_the_model_drives_the_tools_and_answers(toolkit):
    ask = {"statement": "stapler for the office", "user_id": "u1", "scene": "office", "session_id": None, "k": 3}
    requests: list[dict] = []
    handler = scripted([
        {"tool_calls": [_tool_call("1", "recommend", ask)]},
        {"tool_calls": [_tool_call("2", "record_feedback", {"user_id": "u1", "item_id": "o9", "kind": "like"}),
                        _tool_call("3", "search_items", {"text": "x", "bogus": 1})]},
        {"content": "Try the heavy duty stapler (o9)."},
    ], requests)  # fmt: skip
    with serve(handler) as url:
        result = run_tool_loop(toolkit, _client(url), "scripted", [{"role": "user", "content": "a stapler?"}])
    assert result.stopped == "answered"
    assert result.reply == "Try the heavy duty stapler (o9)."
    assert [c.name for c in result.calls] == ["recommend", "record_feedback", "search_items"]
    items = json.loads(result.calls[0].result)["items"]
    assert "o9" in [i["item_id"] for i in items]  # results come from the catalogue through the tool
    assert result.calls[1].ok
    assert not result.calls[2].ok  # a bad call is an error object the model sees, not an exception
    assert toolkit.recommender.profiles.history("u1") == ["o9"]
    # every request offered the strict tool schemas; later ones carried the tool results back
    assert {t["function"]["name"] for t in requests[0]["tools"]} >= {"recommend", "record_feedback"}
    tool_msgs = [m for m in requests[2]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["1", "2", "3"]


def test_a_model_that_never_stops_calling_tools_is_cut_off(toolkit):
    call = {"tool_calls": [_tool_call("1", "search_items", {"text": "pens", "scene": "office", "k": 2})]}
    with serve(scripted([call, call], [])) as url:
        result = run_tool_loop(toolkit, _client(url), "scripted", [{"role": "user", "content": "pens"}], max_rounds=2)
    assert result.stopped == "max_rounds"
    # The last call offers no tools (the model is to answer); one that still calls then is cut off, its call not run.
    assert len(result.calls) == 1


def test_an_unreachable_server_is_one_clear_error(toolkit):
    with pytest.raises(LLMError, match="cannot reach the LLM"):
        run_tool_loop(toolkit, _client("http://127.0.0.1:9/v1"), "m", [{"role": "user", "content": "hi"}])

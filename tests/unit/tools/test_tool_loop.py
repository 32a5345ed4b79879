"""The function-calling loop with a scripted client object (no server): what it sends, what it hands back."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.tools import Toolkit, run_tool_loop
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


class ScriptedClient:
    """Stands in for ``openai.OpenAI``: answers each ``chat.completions.create`` with the next scripted message."""

    base_url = "scripted://"

    def __init__(self, script: list[dict]) -> None:
        self.script, self.sent = list(script), []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, **kwargs):
        self.sent.append(json.loads(json.dumps(kwargs)))
        m = self.script.pop(0)
        calls = [SimpleNamespace(id=c["id"], type="function", function=SimpleNamespace(**c["function"]))
                 for c in m.get("tool_calls", [])]  # fmt: skip
        message = SimpleNamespace(content=m.get("content"), tool_calls=calls or None)
        return SimpleNamespace(choices=[SimpleNamespace(message=message)])


def _call(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "function": {"name": name, "arguments": arguments}}


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory):
    return Toolkit(Recommender(build_store(tmp_path_factory.mktemp("store"))))


def test_tools_are_offered_with_tool_choice_auto(toolkit):
    client = ScriptedClient([{"content": "Hello."}])
    result = run_tool_loop(toolkit, client, "m", [{"role": "user", "content": "hi"}])
    assert result.reply == "Hello."
    assert client.sent[0]["tool_choice"] == "auto"  # llama-cpp-python's server offers no tools without it
    assert client.sent[0]["tools"]


def test_results_come_back_as_tool_messages_and_optionally_as_a_user_message(toolkit):
    script = [{"tool_calls": [_call("1", "search_items", '{"query": "stapler", "scene": "office", "k": 2}'),
                              _call("2", "search_items", '{"query": "pens", "scene": "garden"}')]},
              {"content": "The heavy duty stapler."}]  # fmt: skip
    plain = ScriptedClient(script)
    run_tool_loop(toolkit, plain, "m", [{"role": "user", "content": "a stapler"}])
    echoed = ScriptedClient(script)
    result = run_tool_loop(toolkit, echoed, "m", [{"role": "user", "content": "a stapler"}], results_as_user=True)
    assert [c.ok for c in result.calls] == [True, False]
    second = echoed.sent[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "tool", "tool", "user"]
    assert [m["role"] for m in plain.sent[1]["messages"]] == ["user", "assistant", "tool", "tool"]
    echo = second[-1]["content"]
    assert "stapler heavy duty" in echo  # the first call's result, for a template that drops tool messages
    assert "unknown scene 'garden'" in echo  # and the second's error, so the model can correct it
    assert echo.index("stapler heavy duty") < echo.index("garden")


def test_a_model_call_that_is_not_json_or_not_a_tool_is_an_error_it_sees(toolkit):
    script = [{"tool_calls": [_call("1", "functions.recommend", "{}"), _call("2", "recommend", "{statement: x")]},
              {"content": "Sorry."}]  # fmt: skip
    client = ScriptedClient(script)
    result = run_tool_loop(toolkit, client, "m", [{"role": "user", "content": "pens"}])
    assert [json.loads(c.result)["error"]["type"] for c in result.calls] == ["unknown_tool", "invalid_arguments"]
    tool_msgs = [m for m in client.sent[1]["messages"] if m["role"] == "tool"]
    assert [json.loads(m["content"])["error"]["type"] for m in tool_msgs] == ["unknown_tool", "invalid_arguments"]


def test_a_compact_view_keeps_what_the_model_answers_from(toolkit):
    from scenebridge.tools.openai_face import compact_result, dispatch

    full = dispatch(toolkit, "recommend", {"statement": "gel pens for the office", "k": 5})
    small = json.loads(compact_result(full))
    assert [i["item_id"] for i in small["items"]] == [i["item_id"] for i in json.loads(full)["items"]]
    assert set(small["items"][0]) == {"item_id", "title", "category", "scene", "explanation"}
    assert small["session_id"] == json.loads(full)["session_id"]
    assert len(compact_result(full)) < len(full) / 3
    error = dispatch(toolkit, "recommend", {"statement": "pens", "scene": "garden"})
    assert compact_result(error) == error
    ask = '{"statement": "gel pens", "scene": "office", "k": 3}'
    client = ScriptedClient([{"tool_calls": [_call("1", "recommend", ask)]}, {"content": "ok"}])
    result = run_tool_loop(toolkit, client, "m", [{"role": "user", "content": "pens"}], compact=True)
    assert "evidence" in result.calls[0].result  # the call keeps the full answer
    assert "evidence" not in client.sent[1]["messages"][-1]["content"]  # the model saw the compact one


def test_calls_written_as_text_are_read_when_asked(toolkit):
    from scenebridge.tools import text_calls

    tagged = 'Sure.\n<tool_call>\n{"name": "search_items", "arguments": {"query": "stapler", "k": 2}}\n</tool_call>'
    assert [(c.name, json.loads(c.arguments)) for c in text_calls(tagged, 1)] == [
        ("search_items", {"query": "stapler", "k": 2})
    ]
    bare = '{"name": "heavy duty stapler", "arguments": {"description": "a stapler"}}'  # what the 0.5B model wrote
    assert [c.name for c in text_calls(bare, 1)] == ["heavy duty stapler"]
    broken = text_calls('<tool_call>{"name": "recommend", "arguments": {"statement": "pens"', 2)
    assert [(c.id, c.name) for c in broken] == [("call_2_0", "recommend")]
    assert text_calls("The stapler heavy duty is a good pick.", 1) == []
    script = [{"content": tagged}, {"content": bare}, {"content": "The stapler heavy duty."}]
    client = ScriptedClient(script)
    result = run_tool_loop(toolkit, client, "m", [{"role": "user", "content": "a stapler"}], read_text_calls=True)
    assert [(c.name, c.ok) for c in result.calls] == [("search_items", True), ("heavy duty stapler", False)]
    assert json.loads(result.calls[1].result)["error"]["type"] == "unknown_tool"
    assert result.reply == "The stapler heavy duty."
    sent = client.sent[1]["messages"]
    assert sent[1] == {"role": "assistant", "content": tagged}  # re-sent as the model wrote it
    assert sent[2]["role"] == "tool"
    assert run_tool_loop(toolkit, ScriptedClient([{"content": tagged}]), "m", []).calls == []  # off by default


def test_the_last_call_after_tool_results_offers_no_tools_so_the_model_answers(toolkit):
    call = {"tool_calls": [_call("1", "search_items", '{"query": "pens"}')]}
    client = ScriptedClient([call, {"content": "Here are pens."}])
    result = run_tool_loop(toolkit, client, "m", [{"role": "user", "content": "pens"}], max_rounds=2)
    assert (result.reply, result.stopped) == ("Here are pens.", "answered")
    assert "tools" in client.sent[0]
    assert "tools" not in client.sent[1]
    assert "tool_choice" not in client.sent[1]
    again = ScriptedClient([call, call])  # still calling with no tools offered: cut off, not an answer
    assert run_tool_loop(toolkit, again, "m", [{"role": "user", "content": "pens"}], max_rounds=2).stopped == (
        "max_rounds"
    )

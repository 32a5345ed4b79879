"""The tools, defined once, through each face: LangChain, OpenAI function calling (strict schemas), MCP (stdio)."""

from __future__ import annotations

import json

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.llm import ScriptedLLM
from scenebridge.store.profiles import ProfileStore
from scenebridge.tools import TOOLS, Toolkit, dispatch, langchain_tools, openai_tools
from tests.unit.turn_fixtures import build_store, summary_json

pytestmark = pytest.mark.unit

NAMES = ["parse_interests", "search_items", "rerank", "explain", "record_feedback", "recommend"]
_UNSUPPORTED = {"default", "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "pattern",
                "format", "title"}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def toolkit(store):
    return Toolkit(Recommender(store, profiles=ProfileStore(":memory:")))


def _check_strict(node, path="$"):
    if isinstance(node, list):
        for n, x in enumerate(node):
            _check_strict(x, f"{path}[{n}]")
        return
    if not isinstance(node, dict):
        return
    assert not _UNSUPPORTED & set(node), f"{path}: {_UNSUPPORTED & set(node)}"
    if node.get("type") == "object" or "properties" in node:
        assert node.get("additionalProperties") is False, path
        assert sorted(node["required"]) == sorted(node["properties"]), path
    for key, value in node.items():
        _check_strict(value, f"{path}.{key}")


def test_openai_schemas_are_strict_mode_valid():
    tools = openai_tools()
    assert [t["function"]["name"] for t in tools] == NAMES
    for tool in tools:
        fn = tool["function"]
        assert fn["strict"] is True
        assert fn["description"]
        _check_strict(fn["parameters"])
    rec = next(t for t in tools if t["function"]["name"] == "recommend")["function"]["parameters"]["properties"]
    assert rec["user_id"]["type"] == ["string", "null"]
    assert rec["k"]["type"] == ["integer", "null"]
    assert rec["statement"]["type"] == "string"
    fb = next(t for t in tools if t["function"]["name"] == "record_feedback")["function"]["parameters"]["properties"]
    assert fb["kind"]["enum"] == ["like", "dislike", "purchase", "view", None]


def test_dispatcher_runs_tools_and_returns_json(toolkit):
    # What a strict-mode model sends: every field, nulls for the unset ones.
    out = json.loads(dispatch(toolkit, "recommend", json.dumps(
        {"statement": "watercolor pens for the office, no printer ink", "user_id": "u1", "scene": None,
         "session_id": None, "k": None})))  # fmt: skip
    assert out["scene"] == "office"
    assert len(out["items"]) == 8  # the 10 office items but the two printer-ink ones
    assert not {"o1", "o2"} & {i["item_id"] for i in out["items"]}
    assert all(i["scene"] == "office" for i in out["items"])
    found = json.loads(dispatch(toolkit, "search_items", {"query": "gel pens", "scene": "office", "k": 3,
                                                          "exclude_ids": None}))  # fmt: skip
    assert found["items"][0]["item_id"] == "o4"
    args = {"scene": "office", "item_ids": ["o4", "o9", "zz"], "interests": ["gel pens"], "user_id": None, "k": None}
    ranked = json.loads(dispatch(toolkit, "rerank", args))
    assert ranked["items"][0]["item_id"] == "o4"
    assert ranked["unknown_ids"] == ["zz"]
    assert ranked["items"][0]["evidence"][0]["kind"] == "interest"
    explained = json.loads(dispatch(toolkit, "explain", {"scene": "office", "item_ids": ["o9", "o4"],
                                                         "interests": ["gel pens"], "user_id": None,
                                                         "language": "zh"}))  # fmt: skip
    assert [e["item_id"] for e in explained["explanations"]] == ["o9", "o4"]
    assert explained["explanations"][1]["text"].startswith("推荐「pilot g2")
    recorded = json.loads(dispatch(toolkit, "record_feedback", {"user_id": "u1", "item_id": "a2", "kind": "like"}))
    assert recorded == {"user_id": "u1", "item_id": "a2", "scene": "art", "kind": "like", "history_size": 1}
    later = json.loads(dispatch(toolkit, "recommend", {"statement": "watercolor brush pens", "user_id": "u1",
                                                       "scene": "office"}))  # fmt: skip
    assert any(ev["kind"] == "history-content" and ev["item_id"] == "a2"
               for i in later["items"] for ev in i["evidence"])  # fmt: skip


@pytest.mark.parametrize(
    ("name", "arguments", "kind", "message"),
    [
        ("nope", "{}", "unknown_tool", "no tool named 'nope'"),
        ("recommend", "{not json", "invalid_arguments", "arguments are not JSON"),
        ("recommend", "[1, 2]", "invalid_arguments", "must be a JSON object"),
        ("recommend", "{}", "invalid_arguments", "statement: Field required"),
        ("recommend", '{"statement": "pens", "k": 99}', "invalid_arguments", "k: Input should be less than or equal"),
        ("recommend", '{"statement": "pens", "colour": "red"}', "invalid_arguments", "colour: Extra inputs"),
        ("recommend", '{"statement": "   "}', "usage", "the statement is empty"),
        ("recommend", '{"statement": "pens", "scene": "garden"}', "usage", "unknown scene 'garden'"),
        ("record_feedback", '{"user_id": "u", "item_id": "zz"}', "usage", "not in the catalogue"),
        ("record_feedback", '{"user_id": "u", "item_id": "o1", "kind": "love"}', "invalid_arguments", "kind"),
        ("rerank", '{"scene": "office", "item_ids": []}', "invalid_arguments", "item_ids"),
    ],
)
def test_bad_calls_give_a_clear_error_object(toolkit, name, arguments, kind, message):
    out = json.loads(dispatch(toolkit, name, arguments))
    assert set(out) == {"error"}
    assert out["error"]["type"] == kind
    assert message in out["error"]["message"]
    assert "Traceback" not in out["error"]["message"]


def test_parse_tool_uses_the_llm(store):
    llm = ScriptedLLM([summary_json(["gel pens"], "office", ["black"])])
    out = Toolkit(Recommender(store, llm=llm)).call("parse_interests", {"statement": "gel pens, not black"})
    assert out["source"] == "llm"
    assert out["summary"]["exclusions"] == ["black"]


def test_langchain_tools_invoke(toolkit):
    tools = {t.name: t for t in langchain_tools(toolkit)}
    assert list(tools) == NAMES
    assert tools["search_items"].args_schema is TOOLS[1].args
    found = tools["search_items"].invoke({"query": "stapler", "scene": "office", "k": 2})
    assert found["items"][0]["item_id"] == "o9"
    reply = tools["recommend"].invoke({"statement": "desk organizer for the office", "k": 3})
    assert len(reply["items"]) == 3
    assert "error" in tools["recommend"].invoke({"statement": "pens", "scene": "garden"})

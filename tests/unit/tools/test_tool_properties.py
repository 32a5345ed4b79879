"""Properties of the tools under generated calls, through the OpenAI dispatcher and the MCP server's handlers.

Whatever a caller sends — arbitrary JSON, or arguments one careless mutation away from the schema — a tool never
raises, answers a result or one error object (never an internal error), and every item it names is a catalogue
item, with the catalogue's title and scene, in the scene that was asked. A real embedded Chroma store with hashing
embeddings (deterministic), no sockets: MCP runs over its in-memory transport.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scenebridge.agent.turn import Recommender
from scenebridge.store.profiles import ProfileStore
from scenebridge.tools import TOOLS, Toolkit, build_mcp_server, dispatch
from scenebridge.tools.definitions import drop_nulls
from tests.unit.tools.strategies import CATALOGUE, SCENES, arguments_text, json_values, near_valid, tool_calls
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit

PROPERTY = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
_ERROR_KINDS = {"unknown_tool", "invalid_arguments", "usage"}  # "internal" is a bug: a tool that crashed
_BY_NAME = {t.name: t for t in TOOLS}


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory):
    return Toolkit(Recommender(build_store(tmp_path_factory.mktemp("store")), profiles=ProfileStore(":memory:")))


_NOT_JSON = object()


def strict_json(text: str) -> Any:
    """Parses a tool answer as strict JSON: NaN and infinities (which Python writes and other parsers refuse) fail."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"the answer holds {constant}, which is not JSON: {text[:300]}")

    text.encode("utf-8")  # a lone surrogate echoed from the arguments could not go over any wire
    return json.loads(text, parse_constant=refuse)


def _asked(name: str, arguments: Any) -> Any:
    """The validated arguments the tool ran with (None when they do not validate)."""
    tool = _BY_NAME.get(name)
    if tool is None or not isinstance(arguments, dict):
        return None
    try:
        return tool.args.model_validate(drop_nulls(tool.args, arguments))
    except ValidationError:
        return None


def _check_item(item_id: Any, scene: Any = None, title: Any = None, asked_scene: str | None = None) -> None:
    assert item_id in CATALOGUE, f"{item_id!r} is not a catalogue item"
    real_scene, real_title = CATALOGUE[item_id]
    if scene is not None:
        assert scene == real_scene, f"{item_id}: scene {scene!r}, catalogue says {real_scene!r}"
    if title is not None:
        assert title == real_title, f"{item_id}: title {title!r}, catalogue says {real_title!r}"
    if asked_scene is not None:
        assert real_scene == asked_scene, f"{item_id} is an item of {real_scene!r}, {asked_scene!r} was asked"


def _check_evidence(evidence: list[dict[str, Any]]) -> None:
    for ev in evidence:
        if ev.get("item_id") is not None:
            _check_item(ev["item_id"])


def check_answer(name: str, arguments: Any, out: Any) -> None:
    """The property every tool answer has, whatever was asked."""
    assert isinstance(out, dict), out
    if currently_in_test_context():  # what was tried, with --hypothesis-show-statistics
        event(f"{name}: {out['error']['type'] if 'error' in out else 'result'}")
    if "error" in out:
        assert set(out) == {"error"}, out
        assert set(out["error"]) == {"type", "message"}, out
        assert out["error"]["type"] in _ERROR_KINDS, out
        assert isinstance(out["error"]["message"], str)
        assert out["error"]["message"].strip()
        assert "Traceback" not in out["error"]["message"]
        return
    a = _asked(name, arguments)
    assert a is not None, f"{name} answered a result to arguments that do not validate: {arguments!r}"
    if name == "search_items":
        assert len(out["items"]) <= a.k
        assert len({i["item_id"] for i in out["items"]}) == len(out["items"])
        for i in out["items"]:
            _check_item(i["item_id"], i["scene"], i["title"], a.scene)
            assert i["item_id"] not in a.exclude_ids
    elif name == "rerank":
        assert len(out["items"]) <= a.k
        for i in out["items"]:
            _check_item(i["item_id"], i["scene"], i["title"], a.scene)
            assert i["item_id"] in a.item_ids
            _check_evidence(i["evidence"])
        assert set(out["unknown_ids"]) <= set(a.item_ids)
        assert not {i["item_id"] for i in out["items"]} & set(out["unknown_ids"])
    elif name == "explain":
        assert out["explanations"]
        for e in out["explanations"]:
            _check_item(e["item_id"], asked_scene=a.scene)
            assert e["item_id"] in a.item_ids
            assert e["text"].strip()
    elif name == "record_feedback":
        _check_item(out["item_id"], out["scene"])
        assert out["item_id"] == a.item_id
        assert out["user_id"] == a.user_id
    elif name == "recommend":
        assert out["scene"] in SCENES
        if a.scene is not None:
            assert out["scene"] == a.scene
        assert len(out["items"]) <= a.k
        for i in out["items"]:
            _check_item(i["item_id"], i["scene"], i["title"], out["scene"])
            _check_evidence(i["evidence"])
        assert [e["item_id"] for e in out["explanations"]] == [i["item_id"] for i in out["items"]]
        for linked in out["linked"]:
            _check_item(linked["item_id"])
    elif name == "parse_interests":
        assert isinstance(out["source"], str)
        assert isinstance(out["summary"], dict)


# -- the OpenAI function-calling dispatcher ---------------------------------------------------------------------


@PROPERTY
@given(call=tool_calls)
def test_dispatch_answers_every_call(toolkit, call):
    name, arguments = call
    out = strict_json(dispatch(toolkit, name, json.dumps(arguments, ensure_ascii=False)))
    check_answer(name, arguments, out)


@pytest.mark.parametrize("name", sorted(_BY_NAME))
@settings(PROPERTY, max_examples=40)
@given(data=st.data())
def test_each_tool_answers_near_valid_arguments(toolkit, name, data):
    arguments = data.draw(near_valid(_BY_NAME[name]))
    check_answer(name, arguments, strict_json(dispatch(toolkit, name, arguments)))


@PROPERTY
@given(data=st.data())
def test_dispatch_answers_any_argument_text(toolkit, data):
    name = data.draw(st.sampled_from(sorted(_BY_NAME)))
    text = data.draw(near_valid(_BY_NAME[name]).flatmap(arguments_text) | st.text(max_size=40))
    try:
        arguments = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        arguments = _NOT_JSON
    out = strict_json(dispatch(toolkit, name, text))
    if arguments is _NOT_JSON:
        assert out["error"]["type"] == "invalid_arguments"
        assert "not JSON" in out["error"]["message"]
    check_answer(name, arguments, out)


@PROPERTY
@given(name=st.sampled_from(sorted(_BY_NAME)), arguments=json_values)
def test_dispatch_answers_arbitrary_json_values(toolkit, name, arguments):
    out = strict_json(dispatch(toolkit, name, arguments if isinstance(arguments, dict) else json.dumps(arguments)))
    check_answer(name, arguments, out)
    if not isinstance(arguments, dict | None):
        assert out["error"]["type"] == "invalid_arguments"


@PROPERTY
@given(query=st.text(min_size=1, max_size=40).filter(str.strip) | st.sampled_from(["gel pens", "水彩", "🙂", "!!!"]),
       scene=st.sampled_from(SCENES), k=st.integers(1, 20))  # fmt: skip
def test_search_stays_in_the_asked_scene(toolkit, query, scene, k):
    arguments = {"query": query, "scene": scene, "k": k}
    out = strict_json(dispatch(toolkit, "search_items", arguments))
    assert "error" not in out, out
    assert out["items"], "a scene with items answers at least one"
    check_answer("search_items", arguments, out)


# -- the MCP server's tool handlers (in-memory transport) ---------------------------------------------------------


@pytest.fixture(scope="module")
def mcp_client(toolkit):
    from anyio.from_thread import start_blocking_portal
    from mcp import Client

    with start_blocking_portal() as portal, portal.wrap_async_context_manager(
        Client(build_mcp_server(toolkit))
    ) as client:  # fmt: skip
        yield portal, client


def _mcp_call(mcp_client, name: str, arguments: Any) -> dict[str, Any]:
    """One ``tools/call`` as a client sees it: a result, or an error result with one line of text."""
    portal, client = mcp_client
    res = portal.call(client.call_tool, name, arguments)
    assert len(res.content) == 1, res
    text = res.content[0].text
    if res.is_error:
        assert text.strip(), res
        assert "Traceback" not in text
        return {"error": {"type": "usage", "message": text}}
    return strict_json(text)


@PROPERTY
@given(call=tool_calls.filter(lambda c: isinstance(c[1], dict)))
def test_mcp_handlers_answer_every_call(mcp_client, call):
    name, arguments = call
    out = _mcp_call(mcp_client, name, arguments)
    check_answer(name, arguments, out)


def test_mcp_and_openai_faces_agree_on_bad_arguments(mcp_client, toolkit):
    """An unknown field, a wrong type and a bound crossed are errors on both faces, not silently dropped."""
    for name, arguments in [
        ("recommend", {"statement": "gel pens", "colour": "red"}),
        ("search_items", {"query": "pens", "k": "many"}),
        ("search_items", {"query": "pens", "k": 0}),
        ("rerank", {"scene": "office", "item_ids": []}),
    ]:
        assert "error" in strict_json(dispatch(toolkit, name, arguments)), (name, arguments)
        assert "error" in _mcp_call(mcp_client, name, arguments), (name, arguments)


@pytest.mark.parametrize("user_id", [None, "u-history"])
@pytest.mark.parametrize("name", ["rerank", "explain"])
def test_interests_with_no_word_state_no_interest(toolkit, name, user_id):
    """Found by the properties: an interest with no embeddable word crashed the content reranker (IndexError)."""
    assert "error" not in toolkit.call("record_feedback", {"user_id": "u-history", "item_id": "a1"})
    args = {"scene": "office", "item_ids": ["o4", "o9"], "interests": ["\x00\x01", "!!!"], "user_id": user_id}
    out = toolkit.call(name, args)
    check_answer(name, args, out)
    assert "error" not in out, out


@pytest.mark.parametrize(
    ("name", "arguments", "where"),
    [("recommend", {"statement": "\ud800 pens for the office"}, "statement"),
     ("parse_interests", {"statement": "pens \udfff"}, "statement"),
     ("rerank", {"scene": "office", "item_ids": ["o4"], "interests": ["pens", "\ud83d"]}, "interests.1"),
     ("search_items", {"query": "pens", "\ud800": 1}, "\\ud800")],
)  # fmt: skip
def test_a_lone_surrogate_is_an_error_not_an_echo(toolkit, name, arguments, where):
    """JSON may escape a lone surrogate; echoed into an answer (recommend's statement did), no wire could carry it."""
    text = dispatch(toolkit, name, json.dumps(arguments))
    out = strict_json(text)
    assert out["error"]["type"] == "invalid_arguments"
    assert out["error"]["message"].startswith(f"{name}: {where}: text is not valid Unicode")

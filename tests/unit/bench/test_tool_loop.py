"""The tool-loop benchmark's scoring, with a scripted caller (no server): served, invalid and corrected calls, and the
items an answer names checked against the tools' results and the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.bench.tool_loop import CORE, ToolRequest, bench_tool_loop, figures, load_requests, report
from scenebridge.bench.tool_loop_names import check_names, mentions
from scenebridge.errors import UsageError
from scenebridge.tools import TOOLS, Toolkit
from tests.unit.tools.test_tool_loop import ScriptedClient
from tests.unit.turn_fixtures import ITEMS, build_store

pytestmark = pytest.mark.unit

CATALOGUE = {i: title for i, _, title, _ in ITEMS}


def _call(call_id: str, name: str, arguments: dict) -> dict:
    return {"id": call_id, "function": {"name": name, "arguments": json.dumps(arguments)}}


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory):
    rec = Recommender(build_store(tmp_path_factory.mktemp("store")))
    return Toolkit(rec, tuple(t for t in TOOLS if t.name in CORE))


def test_the_run_is_scored_per_request(toolkit):
    script = [
        {"tool_calls": [_call("1", "search_items", {"query": "stapler", "scene": "office", "k": 2})]},
        {"content": "Try the **Stapler Heavy Duty**."},
        {"tool_calls": [_call("2", "recommend", {"statement": "gel pens for the office", "k": 0})]},
        {"tool_calls": [_call("3", "recommend", {"statement": "gel pens", "scene": "office", "k": 3})]},
        {"content": "1. Acme Turbo Gel Writer 9000 - smooth\n2. pilot g2 gel pens black 12 pack (o4), or o999"},
        {"content": "我推荐「水彩画笔套装」。"},
    ]
    requests = [ToolRequest(id="a", lang="en", say="a stapler"), ToolRequest(id="b", lang="en", say="gel pens"),
                ToolRequest(id="c", lang="zh", say="水彩笔")]  # fmt: skip
    run = bench_tool_loop(toolkit, ScriptedClient(script), "m", requests, max_rounds=3)
    a, b, c = run.outcomes
    assert a.served
    assert a.corrected == 0
    assert a.names == {"Stapler Heavy Duty": "result"}
    assert not b.calls[0]["ok"]
    assert b.calls[0]["error"] == "invalid_arguments"
    assert b.served
    assert b.corrected == 1
    assert b.names == {"Acme Turbo Gel Writer 9000": "unmatched", "pilot g2 gel pens black 12 pack": "result"}
    assert b.unknown_ids == ["o999"]
    assert not c.served
    assert c.calls == []
    assert c.names == {"水彩画笔套装": "untranslatable"}
    assert set(a.returned) | set(b.returned) <= set(CATALOGUE)
    f = figures(run)
    assert (f["requests"], f["served_share"], f["served_share_zh"]) == (3, 0.667, 0.0)
    assert (f["calls"], f["invalid_calls"], f["invalid_calls_corrected"]) == (3, 1, 1)
    assert f["invalid_calls_by_type"] == {"invalid_arguments": 1}
    assert f["answered_without_any_call"] == 1
    assert (f["named_items_from_tool_results"], f["named_items_unmatched"]) == (2, 1)
    assert f["unknown_item_ids_in_answers"] == 1
    assert f["items_returned_outside_catalogue"] == 0
    doc = report(run, "cmd", ["n"])
    assert set(doc) >= {"title", "command", "figures", "notes"}
    json.dumps(doc, ensure_ascii=False)


def test_a_model_that_never_answers_is_cut_off(toolkit):
    call = {"tool_calls": [_call("1", "search_items", {"query": "pens"})]}
    run = bench_tool_loop(toolkit, ScriptedClient([call, call]), "m", [ToolRequest(id="x", lang="en", say="pens")],
                          max_rounds=2)  # fmt: skip
    assert run.outcomes[0].stopped == "max_rounds"
    assert not run.outcomes[0].served
    assert figures(run)["cut_off_at_max_rounds"] == 1


def test_names_in_a_catalogue_title_that_no_tool_returned():
    check = check_names("- **Winsor Newton Watercolor Paint Set 24 Colors**: lovely", {}, CATALOGUE)
    assert check.verdicts == {"Winsor Newton Watercolor Paint Set 24 Colors": "catalogue"}
    assert mentions("pens and a set") == []  # no named item, nothing to check


def test_the_request_file_is_validated(tmp_path):
    requests = load_requests(Path(__file__).parents[3] / "benchmarks" / "tool_requests.yaml")
    assert len(requests) >= 30
    assert {r.lang for r in requests} == {"en", "zh"}
    bad = tmp_path / "r.yaml"
    bad.write_text("version: 1\nrequests: [{id: x, lang: fr, say: hi}]\n")
    with pytest.raises(UsageError, match="not a tool-loop request file"):
        load_requests(bad)
    with pytest.raises(UsageError, match="no request file"):
        load_requests(tmp_path / "missing.yaml")

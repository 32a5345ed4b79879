"""A real model as the caller: the 0.5B model behind llama-cpp-python's OpenAI-compatible server (the GGUF's own
chat template: Qwen 2.5's tool format, ``<tool_call>`` text the loop reads) drives the tools over EN/ZH requests.
Its calls are untrusted input: whatever it sends, every call is answered (a result or an error object), nothing
raises, and no item outside the catalogue is returned or named by an id. Bounded: no request starts after 120 s."""

from __future__ import annotations

import os
from importlib.util import find_spec

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.bench.tool_loop import CORE, ToolRequest, bench_tool_loop, llama_server
from scenebridge.tools import TOOLS, Toolkit
from tests.integration.test_parse_real import require_model
from tests.unit.turn_fixtures import ITEMS, build_store

pytestmark = pytest.mark.integration

REQUESTS = [
    ToolRequest(id="en-stapler", lang="en", scene="office", say="Find me a heavy duty stapler for the office."),
    ToolRequest(id="zh-pens", lang="zh", scene="office", say="我需要黑色的中性笔 (gel pens)，上班用。"),
    ToolRequest(id="en-watercolor", lang="en", scene="art", say="I'd like a watercolor paint set."),
]
BUDGET_S = 120  # an idle 2-core machine runs all three in it; a busy one runs fewer, each checked the same way


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = require_model()
    missing = [m for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context") if not find_spec(m)]
    if missing:
        problem = f"llama-cpp-python's server needs {', '.join(missing)} (the dev extra installs them)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(problem)
        pytest.skip(problem)
    with llama_server(model, n_ctx=4096, threads=1, log=tmp_path_factory.mktemp("llama") / "server.log") as base:
        yield base


def test_the_small_model_drives_the_tools(server, tmp_path):
    from openai import OpenAI

    toolkit = Toolkit(Recommender(build_store(tmp_path / "store")), tuple(t for t in TOOLS if t.name in CORE))
    client = OpenAI(base_url=server, api_key="none", max_retries=0, timeout=600)
    run = bench_tool_loop(toolkit, client, "caller", REQUESTS, max_rounds=2, max_tokens=160, budget_s=BUDGET_S)
    assert run.outcomes
    catalogue = {i for i, *_ in ITEMS}
    for out in run.outcomes:
        assert out.stopped in ("answered", "max_rounds"), (out.id, out.failure)  # never a raise, never a failure
        for call in out.calls:
            assert call["error"] in (None, "invalid_arguments", "usage", "unknown_tool"), (out.id, call)
        assert set(out.returned) <= catalogue
        assert out.unknown_ids == []
    # The loop reads the model's calls (Qwen's <tool_call> text, or the bare object the small model writes).
    assert any(out.calls for out in run.outcomes), [(o.id, o.reply[:200]) for o in run.outcomes]

"""A real model as the caller: the 0.5B model behind llama-cpp-python's OpenAI-compatible server (function calling,
``chatml-function-calling``) drives the tools over a few EN/ZH requests. Its calls are untrusted input: whatever it
sends, every call is answered (a result or an error object), nothing raises, and no item outside the catalogue is
returned or named by an id."""

from __future__ import annotations

import os
import time
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
    ToolRequest(id="en-watercolor", lang="en", scene="art", say="I'd like a watercolor paint set."),
    ToolRequest(id="zh-pens", lang="zh", scene="office", say="我需要黑色的中性笔 (gel pens)，上班用。"),
]
BUDGET_S = 120


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = require_model()
    missing = [m for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context") if not find_spec(m)]
    if missing:
        problem = f"llama-cpp-python's server needs {', '.join(missing)} (the dev extra installs them)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(problem)
        pytest.skip(problem)
    with llama_server(model, n_ctx=4096, log=tmp_path_factory.mktemp("llama") / "server.log") as base:
        yield base


def test_the_small_model_drives_the_tools(server, tmp_path):
    from openai import OpenAI

    toolkit = Toolkit(Recommender(build_store(tmp_path / "store")), tuple(t for t in TOOLS if t.name in CORE))
    client = OpenAI(base_url=server, api_key="none", max_retries=0, timeout=BUDGET_S)
    t0 = time.perf_counter()
    run = bench_tool_loop(toolkit, client, "caller", REQUESTS, max_rounds=3)
    assert time.perf_counter() - t0 < BUDGET_S
    catalogue = {i for i, *_ in ITEMS}
    for out in run.outcomes:
        assert out.stopped in ("answered", "max_rounds"), (out.id, out.failure)  # never a raise, never a failure
        for call in out.calls:
            assert call["error"] in (None, "invalid_arguments", "usage", "unknown_tool"), (out.id, call)
        assert set(out.returned) <= catalogue
        assert out.unknown_ids == []
    # The wiring works: with tool_choice "auto" (without it this server offers no tools) and the results handed back
    # in a user message, the model calls a finding tool and answers for at least one request.
    assert any(out.served for out in run.outcomes), [(o.id, o.calls, o.reply[:200]) for o in run.outcomes]

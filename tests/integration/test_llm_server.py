"""The OpenAI-compatible backend against llama-cpp-python's own server (``python -m llama_cpp.server``) on
127.0.0.1, serving the small packaged model: a real parse over HTTP, with json_object + schema decoding."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from scenebridge.agent import parse_interests
from scenebridge.llm import get_llm
from tests.helpers import free_port
from tests.integration.test_parse_real import SCENES, require_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[str]:
    model = require_model()
    missing = [
        m for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context") if not importlib.util.find_spec(m)
    ]
    if missing:
        problem = f"llama-cpp-python's server needs {', '.join(missing)} (the dev extra installs them)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(problem)
        pytest.skip(problem)
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port",
             str(port), "--n_ctx", "1024", "--model_alias", "qwen-small"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180  # loading the model on a busy 2-core machine can take a while
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server not ready in 180 s:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_hosted_backend_parses_through_the_real_server(llama_server):
    models = httpx.get(f"{llama_server}/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == ["qwen-small"]
    llm = get_llm(llama_server, model="qwen-small", timeout=120)
    text = "I bought watercolor paints on my PC; now I'd like office supplies, but no printer ink cartridges."
    res = parse_interests(text, llm, scenes=SCENES)
    assert res.source in ("llm", "llm-repair"), res.errors  # from the LLM over HTTP, not the lexical fallback
    assert res.summary.scene == "office"
    assert res.summary.topics
    assert any("ink" in x.lower() for x in res.summary.exclusions)


def test_hosted_backend_schema_is_enforced_by_the_server(llama_server):
    """json_object + schema (not json_schema, which this server rejects) constrains the raw answer."""
    import json

    from scenebridge.agent.parse import wire_schema

    llm = get_llm(llama_server, model="qwen-small", timeout=120)
    raw = llm.complete([{"role": "user", "content": "Statement: 想买点零食，不要花生. JSON please."}],
                       schema=wire_schema(SCENES), max_tokens=160)  # fmt: skip
    data = json.loads(raw)
    assert list(data) == ["topics", "scene", "exclusions"]
    assert data["scene"] in (*SCENES, None)

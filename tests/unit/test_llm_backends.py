"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1, and the backend registry (built-ins and a
plugin's)."""

import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from scenebridge.agent import parse_interests
from scenebridge.errors import UsageError
from scenebridge.llm import LLMError, ScriptedLLM, get_llm
from scenebridge.llm.registry import LLMS
from scenebridge.plugins import PLUGINS, hookimpl
from tests.helpers import send_json, serve

pytestmark = pytest.mark.unit


class _Chat(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []
    answer: ClassVar[str] = "{}"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        payload = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": type(self).answer}}],
        }  # fmt: skip
        send_json(self, payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    with serve(_Chat) as url:
        yield url


def test_openai_compatible_backend_sends_json_object_with_schema(chat_server):
    _Chat.bodies.clear()
    _Chat.answer = json.dumps({"topics": ["gel pens"], "scene": "office", "exclusions": ["black ink"]})
    llm = get_llm(chat_server, model="tiny")
    res = parse_interests("gel pens for the office, no black ink", llm, scenes=["office", "art"])
    assert res.source == "llm"
    assert res.summary.scene == "office"
    body = _Chat.bodies[0]
    assert body["model"] == "tiny"
    assert body["temperature"] == 0
    assert body["response_format"]["type"] == "json_object"  # not json_schema: llama.cpp's server rejects it
    assert body["response_format"]["schema"]["title"] == "Interests"
    assert body["max_tokens"] == 160


def test_unreachable_server_is_an_llm_error():
    llm = get_llm("http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(LLMError, match="cannot reach the LLM"):
        llm.complete([{"role": "user", "content": "hi"}])


def test_registry_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEBRIDGE_HOME", str(tmp_path))
    with pytest.raises(UsageError, match=r"unknown LLM 'gpt-9'; give one of: qwen2.5-coder-1.5b"):
        get_llm("gpt-9")
    with pytest.raises(UsageError, match="run `scenebridge models install`"):
        get_llm("qwen2.5-coder-0.5b")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises((UsageError, LLMError)):
        get_llm(str(bad))


def test_llama_threads_from_the_environment(monkeypatch):
    from scenebridge.llm.llama_cpp import _default_threads

    monkeypatch.setenv("SCENEBRIDGE_LLAMA_THREADS", "1")
    assert _default_threads() == 1
    monkeypatch.setenv("SCENEBRIDGE_LLAMA_THREADS", "two")
    with pytest.raises(UsageError, match="SCENEBRIDGE_LLAMA_THREADS must be a positive whole number, not 'two'"):
        _default_threads()
    monkeypatch.delenv("SCENEBRIDGE_LLAMA_THREADS")
    assert _default_threads() >= 1


def test_builtin_names_through_the_registry():
    assert get_llm("fake", responses=["ok"]).complete([{"role": "user", "content": "hi"}]) == "ok"
    assert isinstance(get_llm("fake"), ScriptedLLM)
    with pytest.raises(UsageError, match="LLM 'fake' takes no argument; give 'fake', not 'fake:loud'"):
        get_llm("fake:loud")
    assert LLMS.entry("qwen2.5-coder-1.5b").plugin == "scenebridge.llm.registry"


class _Parrot:
    """A plugin's backend: ``parrot`` or ``parrot:WORD`` answers WORD to every prompt."""

    @hookimpl
    def register_llms(self, register):
        register("parrot", lambda arg="squawk", **options: ScriptedLLM([arg] * 3), help="parrot[:WORD]")


def test_a_plugin_backend_by_name_and_by_name_with_an_argument():
    PLUGINS.register(_Parrot(), "parrot-plugin")
    try:
        hi = [{"role": "user", "content": "hi"}]
        assert get_llm("parrot").complete(hi) == "squawk"
        assert get_llm("parrot:hello", n_ctx=1024).complete(hi) == "hello"  # options other backends take do no harm
        with pytest.raises(UsageError, match=r"unknown LLM 'gpt-9'; .*, 'fake', or a plugin's backend: parrot$"):
            get_llm("gpt-9")
    finally:
        PLUGINS.unregister("parrot-plugin")
    with pytest.raises(UsageError, match="unknown LLM 'parrot'"):
        get_llm("parrot")

"""The LLM backend registry: built-in names, a plugin's backend, the errors. (The OpenAI-compatible backend against
a real server on 127.0.0.1 is in tests/integration/test_openai_endpoints.py.)"""

import pytest

from scenebridge.errors import LLMError, UsageError
from scenebridge.llm import ScriptedLLM, get_llm
from scenebridge.llm.registry import LLMS
from scenebridge.plugins import PLUGINS, hookimpl

pytestmark = pytest.mark.unit


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

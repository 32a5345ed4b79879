"""Which tokens the llama.cpp backend treats as a chat's prefix, and which specs take its options (no model)."""

from __future__ import annotations

import types

import pytest

from scenebridge.llm.llama_cpp import LlamaCppLLM
from scenebridge.llm.registry import is_llama

pytestmark = pytest.mark.unit


def _backend() -> LlamaCppLLM:
    backend = object.__new__(LlamaCppLLM)

    def formatter(messages):
        text = "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<assistant>"
        return types.SimpleNamespace(prompt=text, added_special=False)

    backend._formatter = formatter
    backend._prefixes = {}
    backend.llm = types.SimpleNamespace(tokenize=lambda b, add_bos, special: list(b))  # one token per byte
    return backend


def test_the_prefix_is_the_system_message_and_the_user_header():
    backend = _backend()
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Statement: x"}]
    assert bytes(backend.prefix_of(messages)) == b"<system>S</system><user>"
    # A repair round (more messages) starts the same way.
    assert bytes(backend.prefix_of([*messages, {"role": "assistant", "content": "{"}])) == b"<system>S</system><user>"


def test_no_prefix_without_a_system_message_or_a_formatter():
    backend = _backend()
    assert backend.prefix_of([{"role": "user", "content": "hi"}]) == ()
    assert backend.prefix_of([{"role": "system", "content": "S"}]) == ()
    backend._formatter = None
    assert backend.prefix_of([{"role": "system", "content": "S"}, {"role": "user", "content": "x"}]) == ()


def test_which_specs_are_the_llama_backend(tmp_path):
    assert is_llama("qwen2.5-coder-1.5b")
    assert is_llama(str(tmp_path / "mine.gguf"))
    assert not is_llama("fake")
    assert not is_llama("http://localhost:8080/v1")

"""The LLM protocol and the registry that builds a backend from a spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable

from scenebridge.errors import ScenebridgeError, UsageError

__all__ = ["LLM", "LLMError", "Message", "get_llm"]


class Message(TypedDict):
    role: str
    content: str


class LLMError(ScenebridgeError):
    """The LLM could not answer (unreachable, timed out, model missing or corrupt)."""


@runtime_checkable
class LLM(Protocol):
    """What scenebridge needs from a language model."""

    name: str

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        """Returns the assistant's text; with ``schema``, the backend constrains the answer to JSON of that shape
        where it can (callers validate either way)."""
        ...


def get_llm(spec: str, **options: Any) -> LLM:
    """Builds a backend from a spec.

    Specs: ``fake`` (scripted, for tests), a model name known to ``scenebridge models`` (e.g.
    ``qwen2.5-coder-1.5b``), a path to a ``.gguf`` file (llama.cpp in-process), or an ``http(s)://`` base URL of an
    OpenAI-compatible server (options: ``model``, ``api_key``).

    Raises:
        UsageError: for a spec that is none of these; the message lists the valid forms.
    """
    if spec == "fake":
        from scenebridge.agent.llm.fake import ScriptedLLM

        return ScriptedLLM(options.get("responses", []))
    if spec.startswith(("http://", "https://")):
        from scenebridge.agent.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(base_url=spec, **options)
    from scenebridge.models import MODELS, model_path

    if spec in MODELS:
        return _llama(model_path(spec), **options)
    if spec.endswith(".gguf") or Path(spec).is_file():
        return _llama(Path(spec), **options)
    msg = (
        f"unknown LLM {spec!r}; give one of: {', '.join(MODELS)} (after `scenebridge models install NAME`), "
        "a path to a .gguf file, an http(s):// URL of an OpenAI-compatible server, or 'fake'"
    )
    raise UsageError(msg)


def _llama(path: Path, **options: Any) -> LLM:
    from scenebridge.agent.llm.llama_cpp import LlamaCppLLM

    return LlamaCppLLM(path, **options)

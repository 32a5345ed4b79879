"""The registry that builds an LLM backend from a spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenebridge.errors import UsageError
from scenebridge.llm.fake import ScriptedLLM
from scenebridge.llm.llama_cpp import LlamaCppLLM
from scenebridge.llm.models import MODELS, model_path
from scenebridge.llm.openai_compat import OpenAICompatLLM
from scenebridge.llm.protocol import LLM

__all__ = ["get_llm"]


def get_llm(spec: str, **options: Any) -> LLM:
    """Builds a backend from a spec.

    Specs: ``fake`` (scripted, for tests), a model name known to ``scenebridge models`` (e.g.
    ``qwen2.5-coder-1.5b``), a path to a ``.gguf`` file (llama.cpp in-process), or an ``http(s)://`` base URL of an
    OpenAI-compatible server (options: ``model``, ``api_key``).

    Raises:
        UsageError: for a spec that is none of these; the message lists the valid forms.
    """
    if spec == "fake":
        return ScriptedLLM(options.get("responses", []))
    if spec.startswith(("http://", "https://")):
        return OpenAICompatLLM(base_url=spec, **options)

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

    return LlamaCppLLM(path, **options)

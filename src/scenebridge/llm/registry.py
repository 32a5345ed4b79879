"""The registry that builds an LLM backend from a spec, and the built-in backends' plugin hook.

One spec grammar: an ``http(s)://`` base URL (an OpenAI-compatible server), a registered name (``fake``, a model of
``scenebridge models``, or a plugin's backend, optionally ``NAME:ARG``), or a path to a ``.gguf`` file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scenebridge.llm.fake import ScriptedLLM
from scenebridge.llm.llama_cpp import LlamaCppLLM
from scenebridge.llm.models import MODELS, model_path
from scenebridge.llm.openai_compat import OpenAICompatLLM
from scenebridge.llm.protocol import LLM
from scenebridge.llm.redact import with_redaction
from scenebridge.plugins import Entry, Register, Registry, hookimpl
from scenebridge.settings import LLMSettings, PrivacySettings

__all__ = ["LLMS", "get_llm", "is_llama", "llm_from_settings", "register_llms"]


def _unknown(spec: str, entries: Sequence[Entry[Any]]) -> str:
    plugins = [e.name for e in entries if e.name != "fake" and e.name not in MODELS]
    tail = f", 'fake', or a plugin's backend: {', '.join(plugins)}" if plugins else ", or 'fake'"
    return (
        f"unknown LLM {spec!r}; give one of: {', '.join(MODELS)} (after `scenebridge models install NAME`), "
        f"a path to a .gguf file, an http(s):// URL of an OpenAI-compatible server{tail}"
    )


LLMS: Registry[LLM] = Registry("LLM", "register_llms", unknown=_unknown)
"""The named LLM backends: ``fake``, the installable models, and every plugin's."""


def get_llm(spec: str, **options: Any) -> LLM:
    """Builds a backend from a spec.

    Specs: ``fake`` (scripted, for tests), a model name known to ``scenebridge models`` (e.g.
    ``qwen2.5-coder-1.5b``), a path to a ``.gguf`` file (llama.cpp in-process), an ``http(s)://`` base URL of an
    OpenAI-compatible server (options: ``model``, ``api_key``), or a plugin's backend ``NAME`` / ``NAME:ARG``.

    Raises:
        UsageError: for a spec that is none of these; the message lists the valid forms.
    """
    if spec.startswith(("http://", "https://")):
        return OpenAICompatLLM(base_url=spec, **options)
    if spec.partition(":")[0] in LLMS:
        return LLMS.create(spec, **options)
    if spec.endswith(".gguf") or Path(spec).is_file():
        return _llama(Path(spec), **options)
    raise LLMS.unknown(spec)


def is_llama(spec: str) -> bool:
    """Whether ``spec`` builds the in-process llama.cpp backend (an installable model's name or a GGUF path), which
    takes the llama.cpp options (``prefix_cache``, ``lookup``) that other backends do not."""
    if spec.startswith(("http://", "https://")):
        return False
    if spec.partition(":")[0] in LLMS:
        return spec in MODELS
    return spec.endswith(".gguf") or Path(spec).is_file()


def llm_from_settings(settings: LLMSettings, privacy: PrivacySettings | None = None, **options: Any) -> LLM | None:
    """The LLM of ``[llm]`` (``none`` = the lexical parser alone), behind redaction when ``[privacy] redact`` asks
    for it; :func:`scenebridge.build.build_llm` is this. Here, apart from the composition root, so that a one-shot
    command can start the model's load before importing the rest of the agent (~0.4 s sooner)."""
    if settings.spec == "none":
        return None
    if "://" in settings.spec:
        options = {"model": settings.model, "api_key": settings.api_key, "timeout": settings.timeout, **options}
    elif is_llama(settings.spec):
        options = {"prefix_cache": settings.prefix_cache, **options}
    mode = (privacy or PrivacySettings()).redact
    return with_redaction(get_llm(settings.spec, **options), mode)


def _llama(path: Path, **options: Any) -> LLM:
    return LlamaCppLLM(path, **options)


def _fake(responses: Sequence[str | Exception] = (), **_: Any) -> LLM:
    return ScriptedLLM(responses)


def _model(name: str) -> Callable[..., LLM]:
    def build(**options: Any) -> LLM:
        return _llama(model_path(name), **options)

    return build


@hookimpl
def register_llms(register: Register) -> None:
    """The built-in backends, registered like any plugin's."""
    register("fake", _fake, help="scripted answers for tests (option responses=[...])")
    for name, spec in MODELS.items():
        register(name, _model(name), help=f"{spec.note} (llama.cpp in-process; `scenebridge models install {name}`)")

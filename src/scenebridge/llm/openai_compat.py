"""Any OpenAI-compatible chat server: OpenAI itself, llama-cpp-python's server, vLLM, ..."""

from __future__ import annotations

import os
from typing import Any

from scenebridge.errors import LLMError
from scenebridge.llm.protocol import Message

__all__ = ["OpenAICompatLLM", "as_llm_error"]


class OpenAICompatLLM:
    """Chat completions over HTTP with the ``openai`` client.

    JSON answers use ``response_format={"type": "json_object", "schema": ...}``: llama.cpp's server turns the schema
    into a grammar, OpenAI ignores the extra key, and the ``json_schema`` type (LangChain's default) is avoided
    because llama.cpp's server rejects it with HTTP 500.
    """

    def __init__(
        self, base_url: str, model: str | None = None, api_key: str | None = None, timeout: float = 60.0
    ) -> None:
        from openai import OpenAI

        self.client = OpenAI(
            base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none", timeout=timeout,
            max_retries=1,
        )  # fmt: skip
        self.model = model or "default"
        self.name = f"openai:{self.model}@{base_url}"

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        import openai

        extra: dict[str, Any] = {}
        if schema is not None:
            extra["response_format"] = {"type": "json_object", "schema": schema}
        try:
            resp = self.client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                max_tokens=max_tokens,
                **extra,
            )
        except openai.OpenAIError as exc:
            raise as_llm_error(exc, self.client.base_url) from None
        return resp.choices[0].message.content or ""


def as_llm_error(exc: Exception, base_url: object) -> LLMError:
    """One clear line for a failed call to an OpenAI-compatible server: timed out, unreachable, or what it said."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"the LLM at {base_url} timed out")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"cannot reach the LLM at {base_url}; is the server running?")
    return LLMError(f"the LLM at {base_url} failed ({type(exc).__name__}: {exc})")

"""The LLM protocol: what scenebridge needs from a language model."""

from __future__ import annotations

from typing import Any, Protocol, TypedDict, runtime_checkable

__all__ = ["LLM", "Message", "is_loading"]


class Message(TypedDict):
    role: str
    content: str


@runtime_checkable
class LLM(Protocol):
    """What scenebridge needs from a language model."""

    name: str

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        """Returns the assistant's text; with ``schema``, the backend constrains the answer to JSON of that shape
        where it can (callers validate either way)."""
        ...


def is_loading(llm: object) -> bool:
    """Whether ``llm`` (or the model behind its redaction) is still loading in the background: a fresh process may
    load other things meanwhile (llama.cpp's model loads in a thread from construction on)."""
    return bool(getattr(getattr(llm, "inner", llm), "loading", False))

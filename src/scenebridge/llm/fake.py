"""A scripted fake LLM for tests: it answers from a list and records what it was asked (like llm's MockModel)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scenebridge.errors import LLMError
from scenebridge.llm.protocol import Message

__all__ = ["ScriptedLLM"]


class ScriptedLLM:
    """Returns the scripted responses in order; an ``Exception`` instance in the script is raised instead."""

    name = "fake"

    def __init__(self, responses: Iterable[str | Exception] = ()) -> None:
        self.responses: list[str | Exception] = list(responses)
        self.calls: list[dict[str, Any]] = []

    def add(self, *responses: str | Exception) -> ScriptedLLM:
        self.responses.extend(responses)
        return self

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        self.calls.append({"messages": messages, "schema": schema, "max_tokens": max_tokens})
        if not self.responses:
            msg = "the scripted LLM has no response left for this call"
            raise LLMError(msg)
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

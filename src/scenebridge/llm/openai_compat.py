"""Any OpenAI-compatible chat server: OpenAI itself, llama-cpp-python's server, vLLM, ...

A server that misbehaves is an :class:`LLMError` within the configured timeout, never a hang or a traceback: one
that stalls (before its headers, or by trickling its body byte by byte), one that drops the connection mid-answer,
and one that answers something other than a chat completion. The agent then reads the statement with the lexical
parser and says so in the turn's notes.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

from scenebridge.errors import LLMError
from scenebridge.llm.protocol import Message

__all__ = ["OpenAICompatLLM", "as_llm_error"]


class OpenAICompatLLM:
    """Chat completions over HTTP with the ``openai`` client.

    JSON answers use ``response_format={"type": "json_object", "schema": ...}``: llama.cpp's server turns the schema
    into a grammar, OpenAI ignores the extra key, and the ``json_schema`` type (LangChain's default) is avoided
    because llama.cpp's server rejects it with HTTP 500.

    Args:
        base_url: the server's ``/v1`` URL.
        model: the model name to ask for.
        api_key: the key (``OPENAI_API_KEY`` when None).
        timeout: seconds one call may take in all, from connecting to the last byte of the answer.
    """

    def __init__(
        self, base_url: str, model: str | None = None, api_key: str | None = None, timeout: float = 60.0
    ) -> None:
        from openai import OpenAI

        # No retry: the caller's fallback is the retry, and a second attempt would double the wait the timeout
        # promises (the client retried once before, so a stalled server held a turn for twice the timeout).
        self.client = OpenAI(
            base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none", timeout=timeout,
            max_retries=0,
        )  # fmt: skip
        self.model = model or "default"
        self.name = f"openai:{self.model}@{base_url}"
        self.timeout = timeout

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        """The assistant's answer to ``messages`` (JSON matching ``schema`` when given).

        The call runs in a daemon thread that the caller waits for at most ``timeout`` seconds: the HTTP client's
        timeouts bound each read, not the whole answer, so a server that sends a byte a second would otherwise hold
        the turn for as long as it likes. A call given up on ends on its own (its next read times out).

        Raises:
            LLMError: when the server times out, cannot be reached, drops the connection or answers garbage.
        """
        answers: queue.SimpleQueue[tuple[str | None, BaseException | None]] = queue.SimpleQueue()

        def call() -> None:
            try:
                answers.put((self._create(messages, schema, max_tokens), None))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                answers.put((None, exc))

        threading.Thread(target=call, name="openai-compat-call", daemon=True).start()
        try:
            text, error = answers.get(timeout=self.timeout)
        except queue.Empty:
            msg = f"the LLM at {self.client.base_url} timed out (no complete answer in {self.timeout:g} s)"
            raise LLMError(msg) from None
        if error is not None:
            raise error
        return text or ""

    def _create(self, messages: list[Message], schema: dict[str, Any] | None, max_tokens: int) -> str:
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
            content = resp.choices[0].message.content
        except openai.OpenAIError as exc:
            raise as_llm_error(exc, self.client.base_url) from None
        except (ValueError, AttributeError, TypeError, IndexError, KeyError) as exc:
            # A body that is not JSON, or JSON that is not a chat completion (the client does not validate it).
            msg = f"the LLM at {self.client.base_url} answered something that is not a chat completion ({exc})"
            raise LLMError(msg[:400]) from None
        if content is not None and not isinstance(content, str):
            msg = f"the LLM at {self.client.base_url} answered a message whose content is not text"
            raise LLMError(msg)
        return content or ""


def as_llm_error(exc: Exception, base_url: object) -> LLMError:
    """One clear line for a failed call to an OpenAI-compatible server: timed out, unreachable, or what it said."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"the LLM at {base_url} timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if cause is not None and "connect" not in type(cause).__name__.lower():
            # The server was reached and then went away (a dropped connection, a cut-off answer).
            return LLMError(f"the connection to the LLM at {base_url} broke mid-answer ({type(cause).__name__})")
        return LLMError(f"cannot reach the LLM at {base_url}; is the server running?")
    return LLMError(f"the LLM at {base_url} failed ({type(exc).__name__}: {exc})")

"""Letting a capable OpenAI-compatible model drive the tools itself: the function-calling loop.

The default turn runs the pipeline deterministically because small local models choose tools badly (measured); a
hosted model that calls tools well can instead be handed the tools and left to plan. Every call still goes through
:func:`~scenebridge.tools.openai_face.dispatch`: arguments are validated by the tools' pydantic models, results come
only from the catalogue, and a bad call is an error object the model sees and can correct.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from scenebridge.llm.openai_compat import as_llm_error
from scenebridge.prompts import load_prompt
from scenebridge.tools.definitions import TOOLS, Tool, Toolkit
from scenebridge.tools.openai_face import compact_result, dispatch, openai_tools

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["ToolCall", "ToolLoopResult", "run_tool_loop"]


@dataclass
class ToolCall:
    """One call the model made, and what the tool answered (JSON text, as the model saw it)."""

    name: str
    arguments: str
    result: str

    @property
    def ok(self) -> bool:
        """False when the tool answered with an error object."""
        try:
            return "error" not in json.loads(self.result)
        except json.JSONDecodeError:
            return False


@dataclass
class ToolLoopResult:
    """The model's final answer, every tool call on the way, and why the loop ended."""

    reply: str
    calls: list[ToolCall] = field(default_factory=list)
    rounds: int = 0
    stopped: Literal["answered", "max_rounds"] = "answered"
    messages: list[dict[str, Any]] = field(default_factory=list)


def run_tool_loop(
    toolkit: Toolkit,
    client: OpenAI,
    model: str,
    messages: list[dict[str, Any]],
    tools: tuple[Tool, ...] = TOOLS,
    max_rounds: int = 6,
    results_as_user: bool = False,
    compact: bool = False,
) -> ToolLoopResult:
    """Chat with tools until the model answers without calling one (or ``max_rounds`` model calls were made).

    Args:
        toolkit: the tools bound to a recommender.
        client: an ``openai.OpenAI`` client (OpenAI, or any server that supports ``tools``).
        model: the model name.
        messages: the conversation so far (system and user messages).
        tools: which tools to offer (all by default).
        max_rounds: most model calls; the result says ``max_rounds`` when the model was still calling tools.
        results_as_user: also hand each round's results back in a user message (``prompts/tool_loop.yaml``), for
            servers whose chat template drops ``tool`` messages (llama-cpp-python's ``chatml-function-calling``).
        compact: show the model :func:`~scenebridge.tools.openai_face.compact_result` of each answer (the calls
            keep the full one).

    Raises:
        LLMError: when the server cannot be reached or fails.
    """
    import openai

    specs = openai_tools(tools)
    msgs = [dict(m) for m in messages]
    calls: list[ToolCall] = []
    for round_ in range(1, max_rounds + 1):
        try:
            resp = client.chat.completions.create(  # type: ignore[call-overload]
                model=model,
                messages=msgs,
                tools=specs,
                tool_choice="auto",  # OpenAI's default with tools; llama-cpp-python offers no tools without it
                temperature=0,
            )
        except openai.OpenAIError as exc:
            raise as_llm_error(exc, client.base_url) from None
        message = resp.choices[0].message
        wanted = [tc for tc in message.tool_calls or [] if tc.type == "function"]
        if not wanted:
            msgs.append({"role": "assistant", "content": message.content or ""})
            return ToolLoopResult(message.content or "", calls, round_, "answered", msgs)
        msgs.append({
            "role": "assistant",
            "content": message.content,
            "tool_calls": [{"id": tc.id, "type": "function",
                            "function": {"name": tc.function.name, "arguments": tc.function.arguments}}
                           for tc in wanted],
        })  # fmt: skip
        answered = []
        for tc in wanted:
            result = dispatch(toolkit, tc.function.name, tc.function.arguments)
            calls.append(ToolCall(tc.function.name, tc.function.arguments, result))
            shown = compact_result(result) if compact else result
            msgs.append({"role": "tool", "tool_call_id": tc.id, "content": shown})
            answered.append({"name": tc.function.name, "content": shown})
        if results_as_user:
            msgs.append({"role": "user", "content": load_prompt("tool_loop").render("results", results=answered)})
    return ToolLoopResult("", calls, max_rounds, "max_rounds", msgs)

"""Letting a capable OpenAI-compatible model drive the tools itself: the function-calling loop.

The default turn runs the pipeline deterministically because small local models choose tools badly (measured); a
hosted model that calls tools well can instead be handed the tools and left to plan. Every call still goes through
:func:`~scenebridge.tools.openai_face.dispatch`: arguments are validated by the tools' pydantic models, results come
only from the catalogue, and a bad call is an error object the model sees and can correct.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from scenebridge.llm.openai_compat import as_llm_error
from scenebridge.prompts import load_prompt
from scenebridge.tools.definitions import TOOLS, Tool, Toolkit
from scenebridge.tools.openai_face import compact_result, dispatch, openai_tools

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["ToolCall", "ToolLoopResult", "run_tool_loop", "text_calls"]


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


_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_NAME = re.compile(r'"name"\s*:\s*"([^"]{1,100})"')


@dataclass
class _Wanted:
    """A call the model asked for: from the API's ``tool_calls``, or read from ``<tool_call>`` text."""

    id: str
    name: str
    arguments: str


def text_calls(content: str, round_: int) -> list[_Wanted]:
    """The ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks of a reply (Qwen 2.5's and Hermes'
    convention, which a server using the model's own chat template returns as text), or a reply that is one such
    object without the tags. A block that is not such JSON still counts as a call — its arguments are then not JSON,
    which the dispatcher answers with an error object the model sees."""
    out = []
    blocks = _BLOCK.findall(content)
    bare = content.strip().removeprefix("```json").strip("`\n ")
    if not blocks and bare.startswith("{") and '"name"' in bare:  # small models often leave out the tags
        blocks = [bare]
    for n, block in enumerate(blocks):
        try:
            data = json.loads(block)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            args = data.get("arguments", {})
            text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
            out.append(_Wanted(f"call_{round_}_{n}", data["name"], text))
        else:
            name = _NAME.search(block)
            out.append(_Wanted(f"call_{round_}_{n}", name.group(1) if name else "", block))
    return out


def run_tool_loop(
    toolkit: Toolkit,
    client: OpenAI,
    model: str,
    messages: list[dict[str, Any]],
    tools: tuple[Tool, ...] = TOOLS,
    max_rounds: int = 6,
    *,
    results_as_user: bool = False,
    compact: bool = False,
    read_text_calls: bool = False,
    max_tokens: int | None = None,
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
        read_text_calls: also read ``<tool_call>`` blocks in the reply as calls (:func:`text_calls`), for servers
            that leave the model's own tool-call format in the text (llama-cpp-python with the GGUF's template).
        max_tokens: most tokens per model reply (the server's default when None).

    Raises:
        LLMError: when the server cannot be reached or fails.
    """
    import openai

    specs = openai_tools(tools)
    msgs = [dict(m) for m in messages]
    calls: list[ToolCall] = []
    extra = {"max_tokens": max_tokens} if max_tokens is not None else {}
    for round_ in range(1, max_rounds + 1):
        # The last call, once tools have answered, offers none: the model is to answer with what it has (small
        # models otherwise call again and again; as LangChain's early stopping "generate").
        last = round_ == max_rounds and bool(calls)
        offered = {} if last else {"tools": specs, "tool_choice": "auto"}  # "auto": llama-cpp-python needs it said
        try:
            resp = client.chat.completions.create(  # type: ignore[call-overload]
                model=model, messages=msgs, temperature=0, **offered, **extra
            )
        except openai.OpenAIError as exc:
            raise as_llm_error(exc, client.base_url) from None
        message = resp.choices[0].message
        content = message.content or ""
        wanted = [_Wanted(tc.id, tc.function.name, tc.function.arguments)
                  for tc in message.tool_calls or [] if tc.type == "function"]  # fmt: skip
        if not wanted and read_text_calls:
            wanted = text_calls(content, round_)
        if last and wanted:
            break  # still calling with no tools offered: no answer
        if not wanted:
            msgs.append({"role": "assistant", "content": content})
            return ToolLoopResult(content, calls, round_, "answered", msgs)
        if message.tool_calls:
            msgs.append({
                "role": "assistant",
                "content": message.content or "",  # some servers refuse a null content
                "tool_calls": [{"id": w.id, "type": "function",
                                "function": {"name": w.name, "arguments": w.arguments}} for w in wanted],
            })  # fmt: skip
        else:
            # Calls read from text go back as the model wrote them: re-sent as tool_calls, a chat template that
            # expects arguments as an object writes the JSON text escaped, and the model copies that (measured).
            msgs.append({"role": "assistant", "content": content})
        answered = []
        for w in wanted:
            result = dispatch(toolkit, w.name, w.arguments)
            calls.append(ToolCall(w.name, w.arguments, result))
            shown = compact_result(result) if compact else result
            msgs.append({"role": "tool", "tool_call_id": w.id, "content": shown})
            answered.append({"name": w.name, "content": shown})
        if results_as_user:
            msgs.append({"role": "user", "content": load_prompt("tool_loop").render("results", results=answered)})
    return ToolLoopResult("", calls, max_rounds, "max_rounds", msgs)

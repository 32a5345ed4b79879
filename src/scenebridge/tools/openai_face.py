"""The OpenAI function-calling face: strict-mode JSON schemas and a dispatcher that answers with JSON text."""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel

from scenebridge.tools.definitions import TOOLS, Tool, Toolkit

__all__ = ["compact_result", "dispatch", "openai_tools", "strict_schema"]

# Keywords strict mode does not accept (validation happens in pydantic on our side instead).
_DROP = {"title", "default", "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum",
         "exclusiveMinimum", "exclusiveMaximum", "pattern", "format", "examples"}  # fmt: skip


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if k not in _DROP}
    # {"anyOf": [{"type": T, ...}, {"type": "null"}]} -> {"type": [T, "null"], ...}
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        other = next(o for o in options if o != {"type": "null"})
        if isinstance(other.get("type"), str) and "$ref" not in other:
            merged = {k: v for k, v in out.items() if k != "anyOf"}
            merged.update(other)
            merged["type"] = [other["type"], "null"]
            out = merged
    if out.get("type") == "object" and "properties" in out:
        required = set(out.get("required", []))
        props = {}
        for name, prop in out["properties"].items():
            if name not in required:
                prop = _make_nullable(prop)
            props[name] = prop
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out


def _make_nullable(prop: dict[str, Any]) -> dict[str, Any]:
    kind = prop.get("type")
    if isinstance(kind, list):
        return prop if "null" in kind else {**prop, "type": [*kind, "null"]}
    if isinstance(kind, str):
        out = {**prop, "type": [kind, "null"]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [prop, {"type": "null"}]}


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A pydantic model's JSON schema rewritten for OpenAI strict mode: every property required, optional ones
    nullable (a type list), ``additionalProperties: false`` everywhere, no unsupported keywords."""
    return dict(_strict(copy.deepcopy(model.model_json_schema())))


def openai_tools(tools: tuple[Tool, ...] = TOOLS) -> list[dict[str, Any]]:
    """Tool definitions for ``chat.completions.create(tools=...)``, strict mode on."""
    return [
        {"type": "function",
         "function": {"name": t.name, "description": t.description, "strict": True,
                      "parameters": strict_schema(t.args)}}
        for t in tools
    ]  # fmt: skip


def dispatch(toolkit: Toolkit, name: str, arguments: str | dict[str, Any] | None) -> str:
    """Runs one tool call from a model (``arguments`` as the JSON text the API returns); answers with JSON text.

    Bad JSON, unknown tools and arguments that fail validation give an error object, never an exception.
    """
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            error = {"error": {"type": "invalid_arguments", "message": f"{name}: arguments are not JSON ({exc.msg})"}}
            return json.dumps(error)
    else:
        parsed = arguments if arguments is not None else {}
    return json.dumps(toolkit.call(name, parsed), ensure_ascii=False)


# What a model needs of an item to answer about it; evidence, attributes and timings stay in the full result.
_ITEM_KEYS = ("item_id", "title", "category", "scene", "explanation")
_TURN_KEYS = ("session_id", "scene", "notes")


def compact_result(text: str) -> str:
    """A tool answer (JSON text) cut to what a model answers from: each item's id, title, category, scene and
    explanation, a turn's session id, scene and notes; errors and other answers unchanged. A recommend answer of
    10 items shrinks about tenfold, which is what a small local model's context and a CPU's prompt speed allow."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    if not isinstance(data, dict) or not isinstance(data.get("items"), list) or "error" in data:
        return text
    out: dict[str, Any] = {k: data[k] for k in _TURN_KEYS if k in data}
    out["items"] = [{k: i[k] for k in _ITEM_KEYS if k in i} for i in data["items"] if isinstance(i, dict)]
    if data.get("unknown_ids"):
        out["unknown_ids"] = data["unknown_ids"]
    return json.dumps(out, ensure_ascii=False)

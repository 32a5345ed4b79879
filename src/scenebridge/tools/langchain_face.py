"""The LangChain face: one ``StructuredTool`` per tool definition, with the definition's pydantic args schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scenebridge.extras import require
from scenebridge.tools.definitions import TOOLS, Tool, Toolkit

if TYPE_CHECKING:
    from langchain_core.tools import StructuredTool

__all__ = ["langchain_tools"]


def langchain_tools(toolkit: Toolkit, tools: tuple[Tool, ...] = TOOLS) -> list[StructuredTool]:
    """LangChain tools that call ``toolkit``; each returns the tool's JSON-ready result (or an error object)."""
    require("langchain", "langchain_core", "the LangChain tools (langchain-core)")
    from langchain_core.tools import StructuredTool

    def make(tool: Tool) -> StructuredTool:
        def run(**kwargs: Any) -> dict[str, Any]:
            return toolkit.call(tool.name, kwargs)

        return StructuredTool.from_function(
            func=run, name=tool.name, description=tool.description, args_schema=tool.args, infer_schema=False
        )

    return [make(t) for t in tools if t.name in toolkit.tools]

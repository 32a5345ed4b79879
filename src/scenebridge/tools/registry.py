"""The tool registry: the agent's own tools (:data:`scenebridge.tools.definitions.TOOLS`) built in, plugins' tools
beside them."""

from __future__ import annotations

from collections.abc import Callable

from scenebridge.errors import UsageError
from scenebridge.plugins import Register, Registry, hookimpl
from scenebridge.tools.definitions import TOOLS, Tool

__all__ = ["TOOL_REGISTRY", "get_tool", "register_tools", "registered_tools"]

TOOL_REGISTRY: Registry[Tool] = Registry("tool", "register_tools")
"""The named tools: the built-ins of ``TOOLS``, then every plugin's."""


def get_tool(name: str) -> Tool:
    """The tool registered as ``name``.

    Raises:
        UsageError: for an unknown name (listing the valid ones), or a plugin factory that gives no :class:`Tool`.
    """
    tool = TOOL_REGISTRY.get(name)
    if not isinstance(tool, Tool):
        plugin = TOOL_REGISTRY.entry(name).plugin
        msg = f"the scenebridge plugin {plugin!r} registers tool {name!r} as a {type(tool).__name__}, not a Tool"
        raise UsageError(msg)
    if tool.name != name:
        msg = f"tool {name!r} is registered under another name than its own ({tool.name!r})"
        raise UsageError(msg)
    return tool


def registered_tools() -> tuple[Tool, ...]:
    """Every registered tool, the built-ins first (what a face offers when it offers them all)."""
    return tuple(get_tool(name) for name in TOOL_REGISTRY.names())


def _constant(tool: Tool) -> Callable[[], Tool]:
    def build() -> Tool:
        return tool

    return build


@hookimpl
def register_tools(register: Register) -> None:
    """The built-in tools, registered like any plugin's."""
    for tool in TOOLS:
        register(tool.name, _constant(tool), help=tool.description)

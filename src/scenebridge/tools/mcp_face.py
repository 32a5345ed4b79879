"""The MCP face: an MCP server (the ``mcp`` package's MCPServer, formerly FastMCP) whose tools are the definitions.

Each tool's MCP input schema comes from the same pydantic model (types, bounds, descriptions); a call's raw
arguments go to :meth:`Toolkit.call` — the one validation every face shares, so an unknown or misspelt argument is an
error here too instead of being dropped — and a failed call is an MCP tool error with the toolkit's one-line message.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from scenebridge.extras import require
from scenebridge.tools.definitions import TOOLS, Tool, Toolkit

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["build_mcp_server"]

_ANNOTATED: Any = Annotated  # subscripted with a field's type and bounds at run time


def _signature(tool: Tool) -> inspect.Signature:
    params = []
    for name, field in tool.args.model_fields.items():
        default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        annotation = _ANNOTATED[(field.annotation, *field.metadata, Field(description=field.description))]
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=annotation))  # fmt: skip
    return inspect.Signature(params, return_annotation=str)


def build_mcp_server(toolkit: Toolkit, name: str = "scenebridge") -> MCPServer[Any]:
    """An MCP server exposing the toolkit's tools (run it with ``.run("stdio")``)."""
    require("mcp", "mcp", "the MCP server (mcp)")
    import anyio.to_thread
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent

    class ToolkitServer(MCPServer[Any]):
        """Calls go straight to the toolkit with the caller's arguments: MCP's own argument model (built from the
        signature) ignores unknown keys, so ``{"Scene": "art"}`` would answer items of another scene than asked."""

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            result = await anyio.to_thread.run_sync(toolkit.call, name, arguments)
            if "error" in result:
                raise ToolError(result["error"]["message"])
            return CallToolResult(content=[TextContent(type="text", text=json.dumps(result, ensure_ascii=False))])

    server: MCPServer[Any] = ToolkitServer(name, instructions="Cross-scene recommendations: parse what a person "
                                           "did and wants, retrieve, rerank and explain catalogue items.")  # fmt: skip

    def make(tool: Tool) -> Any:
        def run(**kwargs: Any) -> str:
            result = toolkit.call(tool.name, kwargs)
            if "error" in result:
                raise ToolError(result["error"]["message"])
            return json.dumps(result, ensure_ascii=False)

        run.__name__ = tool.name
        run.__doc__ = tool.description
        run.__signature__ = _signature(tool)  # type: ignore[attr-defined]
        return run

    for tool in TOOLS:
        if tool.name in toolkit.tools:
            server.add_tool(make(tool), name=tool.name, description=tool.description, structured_output=False)
    return server

"""The agent's tools, defined once, with LangChain, OpenAI function-calling and MCP faces."""

from scenebridge.tools.definitions import TOOLS, Tool, Toolkit
from scenebridge.tools.langchain_face import langchain_tools
from scenebridge.tools.mcp_face import build_mcp_server
from scenebridge.tools.openai_face import dispatch, openai_tools, strict_schema
from scenebridge.tools.openai_loop import ToolCall, ToolLoopResult, run_tool_loop, text_calls

__all__ = ["TOOLS", "Tool", "ToolCall", "ToolLoopResult", "Toolkit", "build_mcp_server", "dispatch",
           "langchain_tools", "openai_tools", "run_tool_loop", "strict_schema", "text_calls"]  # fmt: skip

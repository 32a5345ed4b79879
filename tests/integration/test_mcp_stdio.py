"""The MCP face over stdio: a real `scenebridge mcp` subprocess server and the official MCP client."""

from __future__ import annotations

import json
import sys

import pytest

from scenebridge.tools import TOOLS
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.integration

NAMES = [t.name for t in TOOLS]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


async def test_mcp_server_over_stdio(store, tmp_path):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "scenebridge.cli", "mcp", "--store", str(store.where), "--embedder", "hashing",
              "--llm", "none", "--profiles", str(tmp_path / "p.sqlite")],
    )  # fmt: skip
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        assert [t.name for t in listed.tools] == NAMES
        schema = next(t for t in listed.tools if t.name == "recommend").input_schema
        assert schema["required"] == ["statement"]
        res = await session.call_tool("recommend", {"statement": "gel pens for the office", "k": 3})
        assert not res.is_error
        payload = json.loads(res.content[0].text)
        assert payload["scene"] == "office"
        assert len(payload["items"]) == 3
        bad = await session.call_tool("recommend", {"statement": "pens", "scene": "garden"})
        assert bad.is_error
        assert "unknown scene 'garden'" in bad.content[0].text
        fb = await session.call_tool("record_feedback", {"user_id": "u1", "item_id": "o4"})
        assert json.loads(fb.content[0].text)["scene"] == "office"

"""`rag serve --mcp`: an MCP client finds the search and ask tools and searches the digests through them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import test_ui
from conftest import free_port
from test_ui import FakeAssistant

from rag.config import Config
from rag.errors import RagError
from ui.app import serve

indexed = test_ui.indexed  # the fixture: an index of the test corpus, searched by a fake assistant


async def search_as_mcp_client(url: str, question: str) -> tuple[dict[str, Any], str]:
    """Connects to `url` as an MCP client does; returns the listed tools by name and the search tool's result."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        result = await session.call_tool("search", {"question": question, "k": 1})
    assert not result.isError, result.content
    return tools, " ".join(getattr(part, "text", "") for part in result.content)


def test_an_mcp_client_lists_the_tools_and_searches_the_digests(indexed):
    config, assistant = indexed
    port = free_port()
    app = serve(config, port=port, block=False, assistant=assistant, mcp=True)
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/mcp/"
        tools, found = asyncio.run(asyncio.wait_for(search_as_mcp_client(url, "Qwen3-Embedding-8B MMTEB"), 60))
    finally:
        app.close()
    assert set(tools) == {"search", "ask"}  # the page's own events stay private
    assert tools["search"].description.startswith("The top-k passages for a question")
    assert tools["search"].inputSchema["properties"]["k"]["description"] == "How many passages to return, from 1 to 50."
    assert tools["ask"].description.startswith("Answers a question from the digests")
    assert "weekly-2025-06.txt" in found and "70.58 on MMTEB" in found  # k=1: the passage that answers


def test_mcp_behind_a_login_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("RAG_UI_USER", "ann")
    monkeypatch.setenv("RAG_UI_PASSWORD", "pw")
    with pytest.raises(RagError, match="MCP clients cannot log in"):
        serve(Config(), port=free_port(), block=False, assistant=FakeAssistant(), mcp=True)

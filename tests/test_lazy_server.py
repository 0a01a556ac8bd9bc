"""Tools built on the first tool request (`LazyMCPServer`), once, whoever asks first and however many at once."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from gpt_image_mcp.lazy_server import LazyMCPServer
from gpt_image_mcp.server import build_server
from gpt_image_mcp.service import ImageService
from mcp import Client
from mcp.server.mcpserver import server as sdk_server
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool

from tests.http_support import serve_app

pytestmark = pytest.mark.anyio
TOOLS = {"image_generate", "image_edit", "image_variation", "provider_list", "provider_validate"}


@pytest.fixture
def tool_builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the tools the SDK builds, in order; each build is slowed down to widen any race window."""
    built: list[str] = []
    original = Tool.from_function

    def counting(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tool:
        time.sleep(0.005)
        tool = original(fn, *args, **kwargs)
        built.append(tool.name)
        return tool

    monkeypatch.setattr(Tool, "from_function", staticmethod(counting))
    yield built


async def test_initialize_does_not_build_the_tools_and_the_first_list_builds_all(
    make_service: Callable[..., ImageService], tool_builds: list[str]
) -> None:
    server = build_server(make_service(provider="offline"))
    assert not server.tools_built and tool_builds == []
    async with Client(server, mode="legacy") as client:
        assert not server.tools_built and tool_builds == []  # initialize answered without them
        listed = {tool.name for tool in (await client.list_tools()).tools}
        again = {tool.name for tool in (await client.list_tools()).tools}
    assert listed == again == TOOLS
    assert server.tools_built and sorted(tool_builds) == sorted(TOOLS)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_call_as_first_tool_request_builds_the_tools(
    make_service: Callable[..., ImageService], tool_builds: list[str], mode: str
) -> None:
    server = build_server(make_service(provider="offline"))
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("provider_list", {})
    assert not result.is_error and result.structured_content["default_provider"] == "offline"
    assert sorted(tool_builds) == sorted(TOOLS)


async def test_concurrent_first_requests_on_many_sessions_build_each_tool_once(
    make_service: Callable[..., ImageService], tool_builds: list[str]
) -> None:
    server = build_server(make_service(provider="offline"))
    seen: list[set[str]] = []

    async def first_request(index: int) -> None:
        async with Client(server, mode="legacy") as client:
            if index % 2:
                seen.append({tool.name for tool in (await client.list_tools()).tools})
            else:
                result = await client.call_tool("provider_list", {})
                assert not result.is_error
                seen.append(TOOLS)

    async with anyio.create_task_group() as group:
        for index in range(8):
            group.start_soon(first_request, index)
    assert seen == [TOOLS] * 8
    assert sorted(tool_builds) == sorted(TOOLS)


def test_threads_racing_for_the_tools_all_see_every_tool_built_once(
    make_service: Callable[..., ImageService], tool_builds: list[str]
) -> None:
    server = build_server(make_service(provider="offline"))
    start = threading.Barrier(6)
    seen: list[set[str]] = []

    def first_access() -> None:
        start.wait()
        seen.append({tool.name for tool in server._tool_manager.list_tools()})

    threads = [threading.Thread(target=first_access) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen == [TOOLS] * 6
    assert sorted(tool_builds) == sorted(TOOLS)


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_over_http_concurrent_first_requests_see_every_tool(tool_builds: list[str], stateless: bool) -> None:
    with serve_app(http_stateless=stateless) as app:
        seen: list[set[str]] = []

        async def first_request(index: int) -> None:
            async with Client(app.mcp, mode="legacy" if index % 2 else "auto") as client:
                seen.append({tool.name for tool in (await client.list_tools()).tools})
                result = await client.call_tool("provider_list", {})
                assert not result.is_error

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for index in range(4):
                    group.start_soon(first_request, index)
    assert seen == [TOOLS] * 4
    assert sorted(tool_builds) == sorted(TOOLS)


def plain_tool(text: str) -> str:
    return text


def test_tools_added_after_the_build_are_built_at_once_and_removal_works() -> None:
    server = LazyMCPServer(name="t")
    server.add_tool(plain_tool, name="first")
    assert not server.tools_built
    server.remove_tool("first")  # reaching the manager builds what was recorded
    assert server.tools_built and server._tool_manager.list_tools() == []
    server.add_tool(plain_tool, name="second")
    assert [tool.name for tool in server._tool_manager.list_tools()] == ["second"]
    with pytest.raises(ToolError):
        server.remove_tool("first")


def test_a_tool_that_fails_to_build_fails_the_first_access_and_nothing_is_built_twice(
    tool_builds: list[str],
) -> None:
    server = LazyMCPServer(name="t")
    server.add_tool(plain_tool, name="good")
    server.add_tool(lambda: "x")  # a lambda needs a name: the SDK refuses it when it builds the tool
    server.add_tool(plain_tool, name="later")
    with pytest.raises(ValueError):
        server.build_tools()
    assert not server.tools_built
    with pytest.raises(ValueError):  # still refused, and "good" is not built a second time
        server._tool_manager.list_tools()
    assert tool_builds == ["good"]


def test_the_sdk_logging_setup_is_skipped_only_when_logging_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = sdk_server.configure_logging
    monkeypatch.setattr(sdk_server, "configure_logging", lambda level="INFO": calls.append(level))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [logging.NullHandler()])
    LazyMCPServer(name="configured")
    assert calls == []
    monkeypatch.setattr(root, "handlers", [])
    LazyMCPServer(name="unconfigured", log_level="WARNING")
    assert calls == ["WARNING"]
    monkeypatch.undo()
    assert sdk_server.configure_logging is original  # put back after each construction


def test_serving_with_our_logging_does_not_import_rich() -> None:
    code = (
        "import sys; from gpt_image_mcp import cli; from gpt_image_mcp.logs import configure_logging; "
        "from gpt_image_mcp.server import build_server; s = cli._settings(None); "
        "configure_logging(s.log_level, s.log_format); build_server(cli._service(s)); print('rich' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"

"""Sessions that never authenticate cannot pile up: one that sends no Socket.IO connect
is closed after a few seconds, and each client address has a cap on open sessions."""

import asyncio
import contextlib
import json
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.api import register
from tests.support.servers import LiveServer, server_process

CAP = 3


def ws_url(server: LiveServer) -> str:
    return server.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"


async def open_session(
    server: LiveServer, forwarded_for: str | None = None, token: str | None = None
):
    """A raw Engine.IO session over WebSocket; with `token`, also Socket.IO-connected."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    ws = await websockets.connect(ws_url(server), additional_headers=headers)
    opening = await asyncio.wait_for(ws.recv(), 5)
    assert str(opening).startswith("0"), opening  # Engine.IO open
    if token is not None:
        await ws.send("40" + json.dumps({"token": token}))
        connected = await asyncio.wait_for(ws.recv(), 5)
        assert str(connected).startswith("40{"), connected
    return ws


async def closed_within(ws, seconds: float) -> bool:
    """Whether the server closes `ws` within `seconds` (reading everything it sends)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed:
        return True
    except TimeoutError:
        return False


@pytest.fixture(scope="module")
def limited_server(database_url: str, tmp_path_factory) -> LiveServer:
    folder = Path(tmp_path_factory.mktemp("limited"))
    with server_process(
        database_url,
        folder,
        MAX_CONNECTIONS_PER_ADDRESS=str(CAP),
        SOCKETIO_CONNECT_TIMEOUT_SECONDS="1",
        REGISTER_RATE_LIMIT="100000/second",
    ) as server:
        yield server


async def test_a_session_that_never_connects_a_namespace_is_closed(limited_server) -> None:
    ws = await open_session(limited_server, forwarded_for="10.0.0.9")
    started = time.monotonic()
    assert await closed_within(ws, 5)
    elapsed = time.monotonic() - started
    assert 0.8 < elapsed < 3, elapsed


async def test_a_session_refused_for_a_bad_token_is_closed_too(limited_server) -> None:
    ws = await open_session(limited_server, forwarded_for="10.0.0.8")
    await ws.send("40" + json.dumps({"token": "not a token"}))
    assert str(await ws.recv()).startswith("44")  # connect_error
    assert await closed_within(ws, 5)


async def test_each_client_address_has_a_cap_on_open_sessions(limited_server) -> None:
    async with httpx.AsyncClient(base_url=limited_server.base_url) as http:
        token = (await register(http, "Alice")).token
    # Through a trusted proxy (loopback), the forwarded address is the client's.
    held = [await open_session(limited_server, "10.0.0.1", token) for _ in range(CAP)]
    try:
        with pytest.raises((websockets.ConnectionClosed, websockets.InvalidStatus, TimeoutError)):
            extra = await open_session(limited_server, forwarded_for="10.0.0.1")
            await extra.close()
        # Another address is not held back by this one's sessions.
        other = await open_session(limited_server, forwarded_for="10.0.0.2")
        await other.close()
        # A closed session frees its place.
        await held.pop().close()
        await asyncio.sleep(0.2)
        again = await open_session(limited_server, "10.0.0.1", token)
        held.append(again)
    finally:
        for ws in held:
            with contextlib.suppress(Exception):
                await ws.close()

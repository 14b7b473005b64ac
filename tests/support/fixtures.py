"""Fixtures for socket tests: users made over REST on the live server, connected clients."""

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.support.api import TestUser, register
from tests.support.sockets import RecordingClient, connected

Connect = Callable[[TestUser], Awaitable[RecordingClient]]


@pytest.fixture
async def http(live_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def users(http) -> Callable[..., Awaitable[list[TestUser]]]:
    async def make(*names: str) -> list[TestUser]:
        return [await register(http, name) for name in names]

    return make


@pytest.fixture
async def connect(live_server) -> AsyncIterator[Connect]:
    """Connect sockets; every one is closed when the test ends."""
    opened: list[RecordingClient] = []

    async def open_socket(user: TestUser) -> RecordingClient:
        client = await connected(live_server.base_url, user.token)
        opened.append(client)
        return client

    yield open_socket
    for client in opened:
        await client.disconnect()

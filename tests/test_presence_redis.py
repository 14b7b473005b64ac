"""Presence in Redis, shared by processes (two RedisPresence objects play two processes):
tabs on different processes, and a process that dies without disconnecting its sockets."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio

from chat_server.users.presence import RedisPresence
from tests.helpers import REDIS_URL, require_redis


@pytest.fixture
async def processes() -> AsyncIterator[Callable[[float], RedisPresence]]:
    require_redis("the Redis presence test")
    namespace = "chat_test_" + uuid.uuid4().hex[:8]  # nothing shared with other runs
    made: list[RedisPresence] = []

    def make(ttl: float) -> RedisPresence:
        made.append(RedisPresence(REDIS_URL, namespace, ttl=ttl))
        return made[-1]

    yield make
    for presence in made:
        await presence.stop()


async def test_a_user_with_tabs_on_two_processes_goes_offline_with_the_last(processes):
    a, b = processes(60), processes(60)

    assert await a.connected(7, "tab-on-a") is True
    assert await b.connected(7, "tab-on-b") is False
    assert await b.online_among([7, 8]) == [7]
    assert await a.disconnected(7, "tab-on-a") is False
    assert await a.online_among([7]) == [7]
    assert await b.disconnected(7, "tab-on-b") is True
    assert await a.online_among([7]) == []


async def test_connections_of_a_dead_process_stop_counting_after_the_ttl(processes):
    ttl = 0.6
    alive, dead = processes(ttl), processes(ttl)
    await alive.connected(1, "alive-tab")
    await dead.connected(2, "dead-tab")
    await dead.connected(1, "dead-tab-of-1")
    await dead.stop()  # no disconnects: the process is gone

    await asyncio.sleep(ttl * 2.5)  # the live process renewed its own meanwhile

    assert await alive.online_among([1, 2]) == [1]
    # User 2 coming back counts as coming online again.
    assert await alive.connected(2, "new-tab") is True
    assert await alive.disconnected(1, "alive-tab") is True


async def test_online_among_answers_for_many_users_at_once(processes):
    presence = processes(60)
    for user_id in (3, 5, 9):
        await presence.connected(user_id, f"tab-{user_id}")

    assert await presence.online_among(list(range(1, 11))) == [3, 5, 9]
    assert await presence.online_among([]) == []


async def test_a_renewal_puts_back_connections_that_redis_lost(processes):
    presence = processes(60)
    await presence.connected(4, "tab")
    lost = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await lost.delete(presence._key(4))  # a Redis restart, or a late renewal reaped
        assert await presence.online_among([4]) == []

        await presence.renew()

        assert await presence.online_among([4]) == [4]
    finally:
        await lost.aclose()

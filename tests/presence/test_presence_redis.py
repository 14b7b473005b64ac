"""Presence in Redis, shared by processes (RedisPresence objects play the processes):
tabs on different processes, and a process that dies without disconnecting its sockets."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio

from chat_server.presence.redis_store import RedisPresence
from chat_server.presence.store import Departure
from tests.support.servers import free_port
from tests.support.tcp_relay import TcpRelay
from tests.support.tools import REDIS_URL, require_redis


class Announcer:
    """Stands in for the server's on_timeout: records the departures it is given."""

    def __init__(self) -> None:
        self.departures: list[Departure] = []

    async def __call__(self, departures: list[Departure], found_by: object) -> None:
        self.departures.extend(departures)


async def wait_until(condition: Callable[[], object], within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def processes() -> AsyncIterator[Callable[..., RedisPresence]]:
    require_redis("the Redis presence test")
    namespace = "chat_test_" + uuid.uuid4().hex[:8]  # nothing shared with other runs
    made: list[RedisPresence] = []

    def make(ttl: float, on_timeout: Announcer | None = None) -> RedisPresence:
        made.append(RedisPresence(REDIS_URL, namespace, ttl=ttl, on_timeout=on_timeout))
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


async def test_users_whose_connections_died_are_reported_once_by_the_live_processes(processes):
    ttl = 0.6
    seen_by_a, seen_by_b = Announcer(), Announcer()
    a, b = processes(ttl, seen_by_a), processes(ttl, seen_by_b)
    dead = processes(ttl)
    await a.connected(1, "tab-on-a")
    await b.connected(1, "tab-on-b")
    await a.connected(3, "closed-tab")
    await a.disconnected(3, "closed-tab")  # said goodbye: announced then, never again
    before = datetime.now(UTC)
    await dead.connected(2, "dead-tab")
    after = datetime.now(UTC)
    await dead.connected(4, "dead-tab-of-4")
    await b.connected(4, "tab-of-4-on-b")
    await dead.stop()

    await wait_until(lambda: seen_by_a.departures or seen_by_b.departures)
    await asyncio.sleep(ttl)  # a few more reaps by both processes

    # Only user 2 had nothing left; both live processes reaped, one reported.
    reported = seen_by_a.departures + seen_by_b.departures
    assert [d.user_id for d in reported] == [2]
    # last_seen is when the dead tab last counted, not when someone noticed it had gone.
    assert before - timedelta(seconds=0.01) <= reported[0].last_seen <= after
    assert await a.online_among([1, 2, 3, 4]) == [1, 4]


async def test_a_user_whose_other_tab_closed_goes_offline_when_the_dead_tab_expires(processes):
    ttl = 0.6
    seen = Announcer()
    alive, dead = processes(ttl, seen), processes(ttl)
    await alive.connected(5, "closing-tab")
    await dead.connected(5, "dead-tab")
    await dead.stop()
    # The dead tab still counts, so closing the other is not yet "offline"...
    assert await alive.disconnected(5, "closing-tab") is False
    await alive.connected(6, "keeps-the-process-reaping")

    # ...but once the dead tab expires the user is reported, once.
    await wait_until(lambda: seen.departures)
    await asyncio.sleep(ttl)
    assert [d.user_id for d in seen.departures] == [5]


async def test_a_user_who_reconnects_before_the_reap_is_not_reported(processes):
    ttl = 0.6
    seen = Announcer()
    alive, dead = processes(ttl, seen), processes(ttl)
    await dead.connected(7, "dead-tab")
    await dead.stop()
    await asyncio.sleep(ttl * 0.5)
    await alive.connected(7, "new-tab")  # back before the dead tab expired

    await asyncio.sleep(ttl * 3)

    assert seen.departures == []
    assert await alive.online_among([7]) == [7]


async def test_a_connection_made_while_redis_is_down_is_served_and_shared_once_it_is_back():
    """Redis down must not stop connecting: the connection counts in this process, and
    the next renewal after the outage adds it to Redis for the other processes."""
    require_redis("the Redis presence test")
    target = redis.asyncio.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs
    outage = TcpRelay(target.get("host", "127.0.0.1"), target.get("port", 6379), free_port())
    await outage.restore()
    namespace = "chat_test_" + uuid.uuid4().hex[:8]
    presence = RedisPresence(f"redis://127.0.0.1:{outage.port}/0", namespace, ttl=60)
    observer = RedisPresence(REDIS_URL, namespace, ttl=60)
    try:
        await presence.connected(1, "recorded-tab")
        await outage.cut()
        assert await presence.connected(2, "tab-opened-during-the-outage") is True
        assert presence.down
        assert await presence.online_among([1, 2, 3]) == [1, 2]  # this process's own
        await outage.restore()

        await presence.renew()

        assert await observer.online_among([1, 2]) == [1, 2]
    finally:
        await presence.stop()
        await observer.stop()
        await outage.cut()


async def test_a_user_who_comes_back_right_after_the_reap_is_not_announced_offline(processes):
    class ComesBack(RedisPresence):
        """Plays a new tab of each departed user connecting just after the reap."""

        async def reap_batch(self) -> tuple[int, list[Departure]]:
            looked_at, departures = await super().reap_batch()
            for departure in departures:
                await self.connected(departure.user_id, "tab-opened-just-then")
            reaped.extend(departures)
            return looked_at, departures

    ttl = 0.6
    seen = Announcer()
    reaped: list[Departure] = []
    dead = processes(ttl)
    await dead.connected(8, "dead-tab")
    await dead.stop()
    alive = ComesBack(REDIS_URL, dead._namespace, ttl=ttl, on_timeout=seen)
    try:
        await alive.connected(9, "keeps-the-process-reaping")
        await wait_until(lambda: reaped)

        await asyncio.sleep(ttl)
        assert [d.user_id for d in reaped] == [8]
        assert seen.departures == []
        assert await alive.online_among([8]) == [8]
    finally:
        await alive.stop()


async def test_a_crashed_users_departure_is_found_behind_many_clean_disconnects(processes):
    ttl = 0.6
    seen = Announcer()
    alive, dead = processes(ttl, seen), processes(ttl)
    alive.REAP_BATCH = 2  # a small batch stands for a busy server's backlog
    for user_id in range(100, 200):  # each clean disconnect leaves a due entry behind
        await alive.connected(user_id, f"tab-{user_id}")
        await alive.disconnected(user_id, f"tab-{user_id}")
    await dead.connected(2, "dead-tab")
    await dead.stop()
    await alive.connected(1, "keeps-the-process-reaping")

    await wait_until(lambda: seen.departures)

    assert [d.user_id for d in seen.departures] == [2]


async def test_a_process_that_has_served_no_socket_still_reaps_once_started(processes):
    ttl = 0.6
    seen = Announcer()
    idle, dead = processes(ttl, seen), processes(ttl)
    await dead.connected(3, "dead-tab")
    await dead.stop()

    await idle.start()  # as the server's startup does; no socket ever connects here

    await wait_until(lambda: seen.departures)
    assert [d.user_id for d in seen.departures] == [3]


async def test_departures_already_reaped_are_announced_when_a_later_batch_fails(processes):
    class FailsSecondTime(RedisPresence):
        """Plays Redis failing between two reap batches of one round."""

        calls = 0

        async def reap_batch(self) -> tuple[int, list[Departure]]:
            self.calls += 1
            if self.calls % 2 == 0:
                raise redis.exceptions.ConnectionError("Redis went away")
            return await super().reap_batch()

    ttl = 0.6
    seen = Announcer()
    dead = processes(ttl)
    await dead.connected(5, "dead-tab-of-5")
    await dead.connected(6, "dead-tab-of-6")
    await dead.stop()
    alive = FailsSecondTime(REDIS_URL, dead._namespace, ttl=ttl, on_timeout=seen)
    alive.REAP_BATCH = 1  # one user per batch: the second batch of a round fails
    try:
        await alive.start()
        await wait_until(lambda: len(seen.departures) == 2)
        assert sorted(d.user_id for d in seen.departures) == [5, 6]
    finally:
        await alive.stop()

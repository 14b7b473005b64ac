"""Who is online: a user's open connections, in Redis when several processes share them."""

import asyncio
import contextlib
import logging
import math
import time
from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.service import chat_ids_of_user, contact_ids
from chat_server.events import PresenceChanged, PresenceSnapshot, Publisher
from chat_server.users.service import touch_last_seen

logger = logging.getLogger(__name__)


class Presence(Protocol):
    async def connected(self, user_id: int, sid: str) -> bool:
        """Record a connection; True when it is the user's first (they just came online)."""
        ...

    async def disconnected(self, user_id: int, sid: str) -> bool:
        """Forget a connection; True when it was the user's last (they just went offline)."""
        ...

    async def online_among(self, user_ids: list[int]) -> list[int]:
        """Those of `user_ids` with at least one open connection, in the order given."""
        ...

    async def stop(self) -> None: ...


class LocalPresence:
    """One process: a set of connection ids per user."""

    def __init__(self) -> None:
        self._connections: dict[int, set[str]] = {}

    async def connected(self, user_id: int, sid: str) -> bool:
        connections = self._connections.setdefault(user_id, set())
        connections.add(sid)
        return len(connections) == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:
        connections = self._connections.get(user_id, set())
        connections.discard(sid)
        if not connections:
            self._connections.pop(user_id, None)
            return True
        return False

    async def online_among(self, user_ids: list[int]) -> list[int]:
        return [user_id for user_id in user_ids if self._connections.get(user_id)]

    async def stop(self) -> None:
        pass


class RedisPresence:
    """Several processes: per user, a Redis sorted set of connection ids scored by when
    each stops counting. Every process renews its own connections while it runs, so the
    connections of a process that died without saying goodbye stop counting after `ttl`
    seconds instead of keeping their users online for ever."""

    def __init__(self, url: str, namespace: str, ttl: float = 60.0) -> None:
        self._redis = aioredis.from_url(url)
        self._namespace = namespace
        self._ttl = ttl
        self._local: dict[str, int] = {}  # this process's connections: sid -> user id
        self._renewer: asyncio.Task[None] | None = None

    def _key(self, user_id: int) -> str:
        return f"{self._namespace}:presence:{user_id}"

    async def connected(self, user_id: int, sid: str) -> bool:
        self._local[sid] = user_id
        self._start_renewing()
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._key(user_id), "-inf", now)
            pipe.zadd(self._key(user_id), {sid: now + self._ttl})
            pipe.zcard(self._key(user_id))
            pipe.expire(self._key(user_id), math.ceil(self._ttl) * 2)
            *_, count, _ = await pipe.execute()
        return int(count) == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:
        self._local.pop(sid, None)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._key(user_id), "-inf", time.time())
            pipe.zrem(self._key(user_id), sid)
            pipe.zcard(self._key(user_id))
            *_, count = await pipe.execute()
        return int(count) == 0

    async def online_among(self, user_ids: list[int]) -> list[int]:
        if not user_ids:
            return []
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            for user_id in user_ids:
                pipe.zcount(self._key(user_id), now, "+inf")
            counts = await pipe.execute()
        return [user_id for user_id, count in zip(user_ids, counts, strict=True) if count]

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self.renew()
            except aioredis.RedisError:
                logger.warning("could not renew presence in Redis; retrying")

    async def renew(self) -> None:
        """Push back the expiry of this process's connections, re-adding any that Redis
        lost (a restart, or a renewal late enough for another process to reap it). A
        socket closing during a renewal can linger for at most `ttl`."""
        expires = time.time() + self._ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid, user_id in list(self._local.items()):
                pipe.zadd(self._key(user_id), {sid: expires})
                pipe.expire(self._key(user_id), math.ceil(self._ttl) * 2)
            await pipe.execute()

    async def stop(self) -> None:
        """Stop renewing and close the Redis client (at shutdown; tests also use it to
        play a process that died)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self._redis.aclose()


def make_presence(redis_url: str | None, namespace: str) -> Presence:
    return RedisPresence(redis_url, namespace) if redis_url else LocalPresence()


async def user_connected(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: Presence,
    user_id: int,
    connection_id: str,
) -> list[int]:
    """Count a new connection; announce the user online if it is their first. Returns
    the ids of the user's chats (the connection subscribes to them)."""
    chat_ids = await chat_ids_of_user(session, user_id)
    now = datetime.now(UTC).isoformat()
    if await presence.connected(user_id, connection_id):
        await publisher.publish(
            PresenceChanged(user_id=user_id, online=True, last_seen=now, chat_ids=chat_ids)
        )
    contacts = await contact_ids(session, user_id)
    online = await presence.online_among(contacts)
    await publisher.publish(
        PresenceSnapshot(connection_id=connection_id, online_user_ids=online, as_of=now)
    )
    return chat_ids


async def user_disconnected(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: Presence,
    user_id: int,
    connection_id: str,
) -> None:
    """Forget a connection; when it was the last one, store last_seen and announce it."""
    if not await presence.disconnected(user_id, connection_id):
        return
    last_seen = await touch_last_seen(session=session, user_id=user_id)
    chat_ids = await chat_ids_of_user(session, user_id)
    await publisher.publish(
        PresenceChanged(
            user_id=user_id, online=False, last_seen=last_seen.isoformat(), chat_ids=chat_ids
        )
    )

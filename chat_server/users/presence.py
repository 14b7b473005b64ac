"""Who is online: a user's open connections, in Redis when several processes share them."""

from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.service import chat_ids_of_user, contact_ids
from chat_server.events import PresenceChanged, PresenceSnapshot, Publisher
from chat_server.users.service import touch_last_seen


class Presence(Protocol):
    async def connected(self, user_id: int, sid: str) -> bool:
        """Record a connection; True when it is the user's first (they just came online)."""
        ...

    async def disconnected(self, user_id: int, sid: str) -> bool:
        """Forget a connection; True when it was the user's last (they just went offline)."""
        ...

    async def is_online(self, user_id: int) -> bool: ...


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

    async def is_online(self, user_id: int) -> bool:
        return bool(self._connections.get(user_id))


class RedisPresence:
    """Several processes: a Redis set of connection ids per user (SADD/SREM are atomic)."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = aioredis.from_url(url)
        self._namespace = namespace

    def _key(self, user_id: int) -> str:
        return f"{self._namespace}:presence:{user_id}"

    async def connected(self, user_id: int, sid: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._key(user_id), sid)
            pipe.scard(self._key(user_id))
            _, count = await pipe.execute()
        return int(count) == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(self._key(user_id), sid)
            pipe.scard(self._key(user_id))
            _, count = await pipe.execute()
        return int(count) == 0

    async def is_online(self, user_id: int) -> bool:
        return bool(await self._redis.scard(self._key(user_id)))


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
    online = [contact for contact in contacts if await presence.is_online(contact)]
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

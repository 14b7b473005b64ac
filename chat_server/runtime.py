"""The objects one server process shares between REST routes and Socket.IO handlers."""

from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.config import Settings
from chat_server.db import SessionFactory, Timeouts, make_engine, make_session_factory
from chat_server.events import Publisher
from chat_server.messages.lanes import ChatLanes
from chat_server.presence.redis_store import make_presence_store
from chat_server.presence.service import users_timed_out
from chat_server.presence.store import Departure, PresenceStore
from chat_server.rate_limit import RateLimiter


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    rate_limiter: RateLimiter
    publisher: Publisher
    presence: PresenceStore
    lanes: ChatLanes  # each chat's sends and reads, batched (messages/lanes.py)
    redis: aioredis.Redis | None  # for /ready's check; None without REDIS_URL


def build_runtime(
    settings: Settings,
    database_url: str,
    *,
    publisher: Publisher,
    presence: PresenceStore | None = None,
) -> Runtime:
    """`presence` defaults to what the settings ask for (tests pass their own)."""
    engine = make_engine(
        database_url,
        pool_size=settings.db_pool_size,
        timeouts=Timeouts(
            connect=settings.db_connect_timeout_seconds,
            command=settings.db_command_timeout_seconds,
            pool=settings.db_pool_timeout_seconds,
        ),
    )
    sessions = make_session_factory(engine)

    async def timed_out(departures: list[Departure], found_by: PresenceStore) -> None:
        await users_timed_out(departures, found_by, sessions=sessions, publisher=publisher)

    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        rate_limiter=RateLimiter(
            {
                "message": settings.message_rate_limit,
                "login": settings.login_rate_limit,
                "login_address": settings.login_address_rate_limit,
                "register": settings.register_rate_limit,
            },
            redis_url=settings.redis_url,
            namespace=settings.redis_namespace,
            redis_timeout=settings.redis_timeout_seconds,
        ),
        publisher=publisher,
        presence=presence
        or make_presence_store(
            settings.redis_url,
            settings.redis_namespace,
            ttl=settings.presence_ttl_seconds,
            timeout=settings.redis_timeout_seconds,
            on_timeout=timed_out,
        ),
        lanes=ChatLanes(engine, publisher),
        redis=aioredis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
        if settings.redis_url
        else None,
    )

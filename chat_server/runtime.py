"""The objects one server process shares between REST routes and Socket.IO handlers."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.config import Settings
from chat_server.db import SessionFactory, make_engine, make_session_factory
from chat_server.events import NullPublisher, Publisher
from chat_server.rate_limit import RateLimiter


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    rate_limiter: RateLimiter
    publisher: Publisher


def build_runtime(settings: Settings, database_url: str) -> Runtime:
    engine = make_engine(database_url, pool_size=settings.db_pool_size)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        rate_limiter=RateLimiter(
            {
                "message": settings.message_rate_limit,
                "login": settings.login_rate_limit,
                "login_address": settings.login_address_rate_limit,
                "register": settings.register_rate_limit,
            },
            redis_url=settings.redis_url,
            namespace=settings.redis_namespace,
        ),
        publisher=NullPublisher(),
    )

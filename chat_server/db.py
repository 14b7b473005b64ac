"""Engine, session factory and the declarative Base with a constraint naming convention."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

# The largest value of a PostgreSQL bigint: ids, seqs and offsets above it are invalid input.
BIGINT_MAX = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Timeouts:
    """How long to wait for PostgreSQL (seconds); see Settings."""

    connect: float = 3.0
    command: float = 3.0
    pool: float = 5.0


def make_engine(
    database_url: str, pool_size: int = 10, timeouts: Timeouts | None = None
) -> AsyncEngine:
    """`timeouts` for the serving process; batch jobs (seed, tests' helpers) wait as long
    as their statements take."""
    bounds: dict[str, Any] = {}
    if timeouts is not None:
        bounds = {
            "pool_timeout": timeouts.pool,
            "connect_args": {
                "timeout": timeouts.connect,
                # The client gives up on a statement (a frozen server never answers), and
                # the server stops one that runs too long (a lock wait included).
                "command_timeout": timeouts.command,
                "server_settings": {"statement_timeout": str(int(timeouts.command * 1000))},
            },
        }
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        # No overflow: past pool_size, work waits for a connection (up to the pool
        # timeout). Overflow connections are closed as soon as they are returned, so
        # under sustained load each request paid for a new PostgreSQL backend.
        max_overflow=0,
        # No pre-ping: it costs a round trip per checkout on the hot path; recycle instead,
        # and a dead connection fails one request, not all.
        pool_recycle=1800,
        # Last in, first out: at low concurrency requests reuse the connection that just
        # served one, whose statements asyncpg has already prepared, instead of taking
        # each of the pool's in turn and preparing them again on each (bench/compare.py,
        # idle phase: the first 20 sends took 26-200 ms, one per pooled connection).
        pool_use_lifo=True,
        **bounds,
    )


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    # expire_on_commit=False: services return ORM objects that are read after commit.
    return async_sessionmaker(engine, expire_on_commit=False)

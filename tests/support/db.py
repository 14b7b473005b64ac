"""Reading rows straight from the test database, to check what the server stored."""

from typing import Any

import asyncpg


def plain_dsn(url: str) -> str:
    """asyncpg itself wants postgresql://, not SQLAlchemy's postgresql+asyncpg://."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def rows(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Every row of one query, on a connection of its own."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def value(database_url: str, sql: str, *args: Any) -> Any:
    """The first column of the first row of one query."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()

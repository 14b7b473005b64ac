"""Reading rows straight from the test database, to check what the server stored."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def chat_rows_held(database_url: str, chat_ids: list[int]) -> AsyncIterator[None]:
    """Another transaction holds these chats' rows (FOR UPDATE) until the block ends:
    whatever the server does under a chat's row lock waits meanwhile."""
    rival = await asyncpg.connect(plain_dsn(database_url))
    transaction = rival.transaction()
    await transaction.start()
    try:
        for chat_id in chat_ids:
            await rival.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
        yield
    finally:
        await transaction.rollback()
        await rival.close()

"""The test database straight, without the server: reading what it stored, holding its
rows, and new databases and rows for the tests of plans."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from chat_server.embedded_db import ensure_database
from chat_server.migrate import upgrade_to_head

OTHER_CHATS, MEMBERS_EACH = 400, 5


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


@asynccontextmanager
async def fresh_database(database_url: str, tables: Iterable[str]) -> AsyncIterator[str]:
    """A new database at the migrations' head whose `tables` autovacuum never analyses,
    on the same server, dropped afterwards: its asyncpg DSN. What a new server plans on."""
    name = "chat_fresh_" + uuid.uuid4().hex[:8]
    fresh_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    await ensure_database(database_url, name)
    admin = await asyncpg.connect(plain_dsn(database_url))
    try:
        await asyncio.to_thread(upgrade_to_head, fresh_url)
        conn = await asyncpg.connect(plain_dsn(fresh_url))
        try:
            for table in tables:
                await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        finally:
            await conn.close()
        yield plain_dsn(fresh_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def many_chats(conn: asyncpg.Connection, *, analyze: bool = True) -> None:
    """OTHER_CHATS chats of MEMBERS_EACH new users each: enough that reading `chats` or
    `chat_members` whole would be the wrong plan."""
    first = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM users")
    users = OTHER_CHATS * MEMBERS_EACH
    await conn.execute(
        "INSERT INTO users (id, name, email, password) SELECT g, 'u' || g,"
        " 'plan' || g || '@test.invalid', 'x' FROM generate_series($1::bigint, $2) AS g",
        first,
        first + users - 1,
    )
    chats = await conn.fetch(
        "INSERT INTO chats (type) SELECT 'group' FROM generate_series(1, $1) RETURNING id",
        OTHER_CHATS,
    )
    await conn.execute(
        "INSERT INTO chat_members (chat_id, user_id)"
        " SELECT (($2::bigint[])[(g / $3) + 1]), $1 + g FROM generate_series(0, $4 - 1) AS g",
        first,
        [row["id"] for row in chats],
        MEMBERS_EACH,
        users,
    )
    if analyze:
        await conn.execute("ANALYZE users, chats, chat_members, messages")


async def wait_until_waiting_for_a_lock(database_url: str, query_like: str = "%") -> None:
    """Until a statement like `query_like` waits for a lock in this test's database.
    Polled from a connection of its own, outside any transaction: a transaction reads
    pg_stat_activity once and sees that same snapshot until it ends."""
    watcher = await asyncpg.connect(plain_dsn(database_url))
    try:
        for _ in range(500):
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() AND query LIKE $1",
                query_like,
            )
            if waiting:
                return
            await asyncio.sleep(0.01)
    finally:
        await watcher.close()
    raise AssertionError(f"no statement like {query_like!r} waited for a lock")

"""The schema: migrations are the only source, and they match the models."""

import asyncio

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.models import Base
from tests.support.db import plain_dsn


async def test_models_and_migrations_agree(database_url):
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def _execute(database_url: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_the_database_itself_rejects_what_the_invariants_forbid(database_url):
    insert_user = "INSERT INTO users (name, email, password) VALUES ($1, $2, 'x')"
    await _execute(database_url, insert_user, "A", "a@example.com")
    await _execute(database_url, insert_user, "B", "b@example.com")
    with pytest.raises(asyncpg.UniqueViolationError):
        await _execute(database_url, insert_user, "A2", "A@Example.COM")

    private = "INSERT INTO chats (type, pair_low_id, pair_high_id) VALUES ('private', $1, $2)"
    await _execute(database_url, private, 1, 2)
    with pytest.raises(asyncpg.UniqueViolationError):
        await _execute(database_url, private, 1, 2)
    with pytest.raises(asyncpg.CheckViolationError):  # the pair is stored low id first
        await _execute(database_url, private, 2, 1)

    message = (
        "INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts)"
        " VALUES (1, 1, $1, $2::uuid, $3, $3)"
    )
    key = "00000000-0000-0000-0000-000000000001"
    await _execute(database_url, message, "hi", key, 1)
    with pytest.raises(asyncpg.UniqueViolationError):  # same (sender, client_msg_id)
        await _execute(database_url, message, "hi", key, 2)
    with pytest.raises(asyncpg.UniqueViolationError):  # same (chat, seq)
        await _execute(database_url, message, "hi", "00000000-0000-0000-0000-000000000002", 1)
    with pytest.raises(asyncpg.CheckViolationError):  # blank text
        await _execute(database_url, message, "   ", "00000000-0000-0000-0000-000000000003", 3)
    with pytest.raises(asyncpg.CheckViolationError):  # too long
        await _execute(database_url, message, "x" * 4097, "00000000-0000-0000-0000-000000000004", 4)
    await asyncio.sleep(0)

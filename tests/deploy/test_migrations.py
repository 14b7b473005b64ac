"""Migration 0002 (message lifecycle) upgrades and downgrades a database that already
holds messages: every message is kept, and each chat's messages get pts 1..n by seq."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from chat_server.embedded_db import ensure_database
from chat_server.migrate import alembic_config
from tests.support.db import plain_dsn, rows, value


def _url(database_url: str, name: str) -> str:
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate(url: str, direction: str, revision: str) -> None:
    await asyncio.to_thread(getattr(command, direction), alembic_config(url), revision)


@pytest.fixture
async def database_at_0001(database_url: str) -> AsyncIterator[str]:
    """A database of its own at revision 0001, holding two chats' messages."""
    name = "chat_mig_" + uuid.uuid4().hex[:10]
    admin = _url(database_url, "postgres")
    await ensure_database(admin, name)
    url = _url(database_url, name)
    try:
        await _migrate(url, "upgrade", "0001")
        await _execute(
            url,
            "INSERT INTO users (name, email, password) VALUES ('A', 'a@x.org', 'x'),"
            " ('B', 'b@x.org', 'x')",
            "INSERT INTO chats (type, pair_low_id, pair_high_id, last_seq)"
            " VALUES ('private', 1, 2, 3)",
            "INSERT INTO chats (type, name, last_seq) VALUES ('group', 'G', 2)",
            "INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq) VALUES"
            " (2, 1, 'g1', gen_random_uuid(), 1), (1, 1, 'p1', gen_random_uuid(), 1),"
            " (1, 2, 'p2', gen_random_uuid(), 2), (2, 2, 'g2', gen_random_uuid(), 2),"
            " (1, 1, 'p3', gen_random_uuid(), 3)",
        )
        yield url
    finally:
        await _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_upgrade_numbers_existing_messages_and_downgrade_keeps_them(
    database_at_0001: str,
) -> None:
    url = database_at_0001
    await _migrate(url, "upgrade", "0002")
    numbered = await rows(url, "SELECT chat_id, seq, pts, text FROM messages ORDER BY chat_id, seq")
    assert [(r["chat_id"], r["seq"], r["pts"]) for r in numbered] == [
        (1, 1, 1),
        (1, 2, 2),
        (1, 3, 3),
        (2, 1, 1),
        (2, 2, 2),
    ]
    chats = await rows(url, "SELECT id, last_pts FROM chats ORDER BY id")
    assert [(r["id"], r["last_pts"]) for r in chats] == [(1, 3), (2, 2)]
    # The new rules hold on the upgraded data: a tombstone has no text, a reply quotes
    # a message of the same chat, a reaction is one per user.
    await _execute(
        url,
        "UPDATE messages SET text = NULL, deleted_at = now(), pts = 4"
        " WHERE chat_id = 1 AND seq = 3",
        "INSERT INTO reactions (message_id, user_id, emoji) SELECT id, 2, '👍' FROM messages"
        " WHERE chat_id = 1 AND seq = 1",
    )
    with pytest.raises(asyncpg.CheckViolationError):
        await _execute(url, "UPDATE messages SET text = NULL WHERE chat_id = 1 AND seq = 1")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _execute(url, "UPDATE messages SET reply_to_seq = 3 WHERE chat_id = 2 AND seq = 2")

    await _migrate(url, "downgrade", "0001")
    kept = await rows(url, "SELECT chat_id, seq, text FROM messages ORDER BY chat_id, seq")
    # The tombstone goes: 0001 cannot hold a message without text.
    assert [(r["chat_id"], r["seq"], r["text"]) for r in kept] == [
        (1, 1, "p1"),
        (1, 2, "p2"),
        (2, 1, "g1"),
        (2, 2, "g2"),
    ]
    assert await value(url, "SELECT to_regclass('reactions')") is None
    # And up again: the schema the app runs on.
    await _migrate(url, "upgrade", "head")
    assert await value(url, "SELECT max(pts) FROM messages WHERE chat_id = 1") == 2

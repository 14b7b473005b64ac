"""The search query is served by the (chat, words) index, not a scan of messages."""

import asyncpg
import httpx
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from chat_server.search.service import search_statement
from tests.support.api import register
from tests.support.db import plain_dsn

WORDS = ["deploy", "friday", "lunch", "привет", "дом", "report", "release", "кофе"]


async def fill(database_url: str, chat_ids: list[int], sender_id: int, per_chat: int) -> None:
    """Many messages quickly, straight into the table (the send path is not under test)."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        for chat_id in chat_ids:
            await conn.execute(
                """
                INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts)
                SELECT $1, $2,
                       ($3::text[])[1 + n % 8] || ' number ' || n || ' ' || ($3::text[])[1 + n % 5],
                       gen_random_uuid(), n, n
                FROM generate_series(1, $4) AS n
                """,
                chat_id,
                sender_id,
                WORDS,
                per_chat,
            )
            await conn.execute(
                "UPDATE chats SET last_seq = $2, last_pts = $2 WHERE id = $1", chat_id, per_chat
            )
        await conn.execute("ANALYZE messages")
    finally:
        await conn.close()


async def test_explain_shows_the_search_index_and_no_scan_of_messages(
    client: httpx.AsyncClient, database_url: str
) -> None:
    alice = await register(client, "Alice")
    chat_ids = []
    for i in range(20):
        created = await client.post(
            "/groups", json={"name": f"G{i}", "member_ids": []}, headers=alice.headers
        )
        assert created.status_code == 201, created.text
        chat_ids.append(created.json()["chat_id"])
    await fill(database_url, chat_ids, alice.id, 1000)
    plan = await explain(database_url, alice.id, chat_ids[:5], ["zanzib"])
    # A word in no message at all: looked up in the index, never a walk of messages.
    assert "ix_messages_search" in plan, plan
    assert "Seq Scan on messages" not in plan, plan
    # A word in every message: the newest messages walked backwards by id, stopping at
    # `limit` hits; still no sequential scan.
    plan = await explain(database_url, alice.id, chat_ids[:5], ["numb"])
    assert "Seq Scan on messages" not in plan, plan


async def explain(database_url: str, user_id: int, chat_ids: list[int], words: list[str]) -> str:
    statement = search_statement(user_id, chat_ids, words, 20, None)
    compiled = statement.compile(dialect=asyncpg_dialect())
    args = [compiled.params[name] for name in compiled.positiontup or []]
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        rows = await conn.fetch("EXPLAIN " + compiled.string, *args)
    finally:
        await conn.close()
    return "\n".join(row[0] for row in rows)

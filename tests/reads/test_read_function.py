"""A read batch's first call (the chat row lock, then the watermarks' move) runs as a
function of the connection's own, planned once per connection (direct_sql.ServerFunction):
its plan must read through indexes whatever the tables held when it was made."""

import asyncpg

from chat_server.direct_sql import sql_and_arguments
from chat_server.messages.read_status import MOVE_WATERMARKS
from tests.support.db import fresh_database, many_chats

TABLES = {"chats", "chat_members"}


async def _move(conn: asyncpg.Connection, chat_id: int, user_id: int, seq: int) -> asyncpg.Record:
    params = {"chat": chat_id, "user_ids": [user_id], "seqs": [seq]}
    sql, arguments = sql_and_arguments(MOVE_WATERMARKS, params)
    [row] = await conn.fetch(sql, *arguments)
    return row


async def test_the_read_function_planned_on_empty_tables_still_reads_through_indexes(
    database_url: str,
) -> None:
    async with fresh_database(database_url, TABLES) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "INSERT INTO users (id, name, email, password) VALUES"
                " (1, 'Alice', 'alice@test.invalid', 'x'), (2, 'Bob', 'bob@test.invalid', 'x')"
            )
            chat_id = await conn.fetchval(
                "INSERT INTO chats (type, last_seq) VALUES ('group', 5) RETURNING id"
            )
            await conn.execute(
                "INSERT INTO chat_members (chat_id, user_id) VALUES ($1, 1), ($1, 2)", chat_id
            )
            await MOVE_WATERMARKS.install(conn)
            first = await _move(conn, chat_id, 2, 1)  # planned now, on nearly empty tables
            assert (first["previous"], first["current"]) == (0, 1)
            await many_chats(conn, analyze=False)
            async with conn.transaction():
                later = await _move(conn, chat_id, 2, 3)
                seq_scans = await conn.fetch(
                    "SELECT relname, seq_scan AS n FROM pg_stat_xact_user_tables"
                    " WHERE relname = ANY($1::text[])",
                    sorted(TABLES),
                )
            assert (later["previous"], later["current"]) == (1, 3)
            assert {r["relname"]: r["n"] for r in seq_scans} == {t: 0 for t in TABLES}
        finally:
            await conn.close()

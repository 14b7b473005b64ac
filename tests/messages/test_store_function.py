"""The send statement runs as a function of each connection's own (direct_sql.ServerFunction),
planned once per connection: its one generic plan must read through indexes in a busy
database, and the function must come back with every new connection."""

import contextlib
import json
import uuid

import asyncpg
import httpx
from sqlalchemy import text

from chat_server.db import make_engine
from chat_server.direct_sql import PLAN_SETTINGS, ServerFunction, sql_and_arguments
from chat_server.messages.outcomes import Send, Stored
from chat_server.messages.store import (
    STORE_SENDS,
    STORE_SENDS_IN_CHAT,
    STORE_SENDS_IN_FREE_CHATS,
    store_sends,
)
from tests.messages.test_history_depth import big_chat, plan_nodes
from tests.support.db import fresh_database, many_chats, plain_dsn

TABLES = {"messages", "chats", "chat_members"}
FUNCTIONS = (STORE_SENDS, STORE_SENDS_IN_FREE_CHATS, STORE_SENDS_IN_CHAT)  # the send path's


async def test_the_generic_plan_of_a_send_reads_only_through_indexes(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """PostgreSQL plans the function's statement once for any parameters, under the
    function's own settings (direct_sql.PLAN_SETTINGS); run for real
    (and rolled back) in a chat of 3,000 messages among hundreds of chats, that plan
    scans no table whole and reads a handful of rows from each."""
    alice, chat_id = await big_chat(client, database_url)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await many_chats(conn)
        params = {
            "chat_ids": [chat_id, chat_id],
            "sender_ids": [alice.id, alice.id],
            "texts": ["new", "an answer"],
            "client_msg_ids": [uuid.uuid4(), uuid.uuid4()],
            "reply_to_seqs": [None, 1500],
        }
        sql, arguments = sql_and_arguments(STORE_SENDS.statement, params)
        for name, value in PLAN_SETTINGS.items():  # the function's own settings
            await conn.execute(f"SET {name} = {value}")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                "PREPARE send (bigint[], bigint[], text[], uuid[], bigint[]) AS " + sql
            )
            # EXPLAIN EXECUTE takes no parameters: the values are written out, all
            # integers and UUIDs but the two texts, which are plain words.
            chats, senders, texts, keys, _ = arguments
            values = ", ".join(
                [
                    f"ARRAY{[int(c) for c in chats]}::bigint[]",
                    f"ARRAY{[int(s) for s in senders]}::bigint[]",
                    "ARRAY[" + ", ".join(f"'{t}'" for t in texts) + "]::text[]",
                    "ARRAY[" + ", ".join(f"'{k}'" for k in keys) + "]::uuid[]",
                    "ARRAY[NULL, 1500]::bigint[]",
                ]
            )
            explained = await conn.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE send({values})"
            )
            stored = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE chat_id = $1 AND seq > 3000", chat_id
            )
            assert stored == 2  # the plan was run, not only drawn
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    nodes = plan_nodes(json.loads(explained)[0]["Plan"])
    scanned = [n for n in nodes if n.get("Relation Name") in TABLES]
    assert {n["Relation Name"] for n in scanned} == TABLES, nodes
    assert all(n["Node Type"] != "Seq Scan" for n in scanned), [
        (n["Node Type"], n.get("Relation Name"), n.get("Alias")) for n in scanned
    ]
    assert all(n["Actual Rows"] <= 2 for n in scanned), scanned


async def test_every_new_connection_creates_the_function_again(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Temporary: nothing in the schema, and a connection that died takes its function
    with it; the pool's next connection creates its own before the first send."""
    alice, chat_id = await big_chat(client, database_url)
    engine = make_engine(database_url, pool_size=1)
    admin = await asyncpg.connect(plain_dsn(database_url))
    try:

        async def send_one(text: str) -> None:
            [outcome] = await store_sends(
                engine, chat_id=chat_id, sends=[Send(alice.id, text, uuid.uuid4())]
            )
            assert isinstance(outcome, Stored), outcome

        async def backend() -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(text("SELECT pg_backend_pid()")))

        await send_one("on the first connection")
        first = await backend()
        in_schema = await admin.fetchval(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.proname = 'store_sends' AND n.nspname NOT LIKE 'pg_temp%'"
        )
        assert in_schema == 0
        settings = await admin.fetch(
            "SELECT p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.proname = 'store_sends' AND n.nspname LIKE 'pg_temp%'"
        )
        assert settings  # one per connection that has sent, this test's among them
        expected = [f"{name}={value}" for name, value in PLAN_SETTINGS.items()]
        assert all(row["proconfig"] == expected for row in settings)
        # The pool's one connection is killed; its next checkout fails once, then the
        # pool opens a new connection, which has no function yet.
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        with contextlib.suppress(Exception):  # the request that finds it dead may fail
            await send_one("perhaps on the dead connection")
        await send_one("on a new connection")
        assert await backend() != first
        texts = await admin.fetch(
            "SELECT text FROM messages WHERE chat_id = $1 AND seq > 3000 ORDER BY seq", chat_id
        )
        assert texts[0]["text"] == "on the first connection"
        assert texts[-1]["text"] == "on a new connection"
    finally:
        await admin.close()
        await engine.dispose()


async def test_a_function_planned_while_the_tables_are_empty_still_reads_through_indexes(
    database_url: str,
) -> None:
    """A new server plans each function on its first call, when `messages` is empty and
    never analysed, and keeps that plan for the connection's life: once the chat holds
    thousands of messages (and before any ANALYZE), a send still scans no table whole."""
    async with fresh_database(database_url, TABLES) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "INSERT INTO users (id, name, email, password)"
                " VALUES (1, 'Alice', 'alice@test.invalid', 'x')"
            )
            chat_id = await conn.fetchval("INSERT INTO chats (type) VALUES ('group') RETURNING id")
            await conn.execute(
                "INSERT INTO chat_members (chat_id, user_id) VALUES ($1, 1)", chat_id
            )
            for function in FUNCTIONS:
                await function.install(conn)

            async def send(function: ServerFunction, text: str) -> asyncpg.Record:
                params = {
                    "chat": chat_id,
                    "chat_ids": [chat_id],
                    "sender_ids": [1],
                    "texts": [text],
                    "client_msg_ids": [uuid.uuid4()],
                    "reply_to_seqs": [None],
                }
                sql, arguments = sql_and_arguments(function, params)
                [row] = await conn.fetch(sql, *arguments)
                assert row["is_new"]
                return row

            # The first calls plan the functions, on empty tables.
            for seq, function in enumerate(FUNCTIONS, start=1):
                assert (await send(function, "early"))["seq"] == seq
            last = len(FUNCTIONS) + 20_000
            await conn.execute(
                "INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts)"
                " SELECT $1, 1, 'old', gen_random_uuid(), g, g"
                " FROM generate_series($2::bigint, $3) AS g",
                chat_id,
                len(FUNCTIONS) + 1,
                last,
            )
            await conn.execute(
                "UPDATE chats SET last_seq = $2, last_pts = $2 WHERE id = $1", chat_id, last
            )
            for seq, function in enumerate(FUNCTIONS, start=last + 1):
                async with conn.transaction():
                    assert (await send(function, "later"))["seq"] == seq
                    seq_scans = await conn.fetch(
                        "SELECT relname, seq_scan AS n FROM pg_stat_xact_user_tables"
                        " WHERE relname = ANY($1::text[])",
                        sorted(TABLES),
                    )
                assert {r["relname"]: r["n"] for r in seq_scans} == {t: 0 for t in TABLES}, (
                    function.name
                )
        finally:
            await conn.close()

"""History at depth: `offset` is served as a seq bound (seq is gapless), giving the same
pages `OFFSET` gave, and reading no more index rows than the page holds."""

import itertools
import json
from typing import Any

import asyncpg
import httpx
import pytest

from chat_server.direct_sql import PLAN_SETTINGS, sql_and_arguments
from chat_server.messages.history import PAGES, PageOrder
from tests.support.api import TestUser, private_chat, register
from tests.support.db import plain_dsn

SIZE = 3000


async def big_chat(client: httpx.AsyncClient, database_url: str) -> tuple[TestUser, int]:
    """A private chat of SIZE messages, written straight into the table (sending them one
    by one would take minutes), with seq and pts 1..SIZE and chats.last_seq and last_pts
    to match."""
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute(
            """INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts)
               SELECT $1, CASE WHEN n % 2 = 0 THEN $2::bigint ELSE $3::bigint END, 'm' || n,
                      gen_random_uuid(), n, n
               FROM generate_series(1, $4::int) AS n""",
            chat_id,
            alice.id,
            bob.id,
            SIZE,
        )
        await conn.execute(
            "UPDATE chats SET last_seq = $2, last_pts = $2 WHERE id = $1", chat_id, SIZE
        )
        await conn.execute("ANALYZE messages")
    finally:
        await conn.close()
    return alice, chat_id


async def offset_page(
    conn: asyncpg.Connection,
    chat_id: int,
    limit: int,
    offset: int,
    after_seq: int | None,
    before_seq: int | None,
) -> list[int]:
    """The page as the OFFSET query before this change read it."""
    newest_first = before_seq is not None and after_seq is None
    rows = await conn.fetch(
        f"""SELECT seq FROM messages
            WHERE chat_id = $1 AND ($2::bigint IS NULL OR seq > $2)
              AND ($3::bigint IS NULL OR seq < $3)
            ORDER BY seq {"DESC" if newest_first else "ASC"} OFFSET $4 LIMIT $5""",
        chat_id,
        after_seq,
        before_seq,
        offset,
        limit,
    )
    return sorted(row["seq"] for row in rows)


async def test_offset_with_after_and_before_seq_gives_the_offset_pages(
    client: httpx.AsyncClient, database_url: str
) -> None:
    alice, chat_id = await big_chat(client, database_url)
    offsets = (0, 1, 49, 50, 1500, 2950, 2999, 3000, 10_000, 2**63 - 1)
    afters = (None, 0, 10, 2990, 3000)
    befores = (None, 1, 2, 51, 1600, 3001, 2**63 - 1)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        for offset, after, before in itertools.product(offsets, afters, befores):
            params = {"limit": 50, "offset": offset}
            if after is not None:
                params["after_seq"] = after
            if before is not None:
                params["before_seq"] = before
            response = await client.get(f"/history/{chat_id}", params=params, headers=alice.headers)
            assert response.status_code == 200, (params, response.text)
            got = [m["seq"] for m in response.json()]
            want = await offset_page(conn, chat_id, 50, offset, after, before)
            assert got == want, params
            assert [m["text"] for m in response.json()] == [f"m{s}" for s in want]
    finally:
        await conn.close()


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in plan_nodes(child))]


# Each kind of page, at the start, the middle and the end of the chat.
DEPTHS = [
    (PageOrder.SEQ, {"after": 0, "before": 2**63 - 1}),
    (PageOrder.SEQ, {"after": 1500, "before": 2**63 - 1}),
    (PageOrder.SEQ, {"after": 2950, "before": 2**63 - 1}),
    (PageOrder.SEQ_NEWEST_FIRST, {"before": 2**63 - 1, "offset": 0}),
    (PageOrder.SEQ_NEWEST_FIRST, {"before": 2000, "offset": 1500}),
    (PageOrder.PTS, {"after": 1500}),
]


# Plans for one call's parameters, and the plan the server's page functions keep for all
# calls (direct_sql.PLAN_SETTINGS).
SETTINGS = {
    "custom plan": {"plan_cache_mode": "force_custom_plan"},
    "server function": PLAN_SETTINGS,
}


async def _set(conn: asyncpg.Connection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        await conn.execute(f"SET {name} = {value}")


async def _explain_page(
    conn: asyncpg.Connection, order: PageOrder, chat_id: int, user_id: int, bounds: dict[str, int]
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of a 50-row page, run as a prepared statement (so under the
    session's plan_cache_mode): the plan as JSON."""
    params = {"chat": chat_id, "user": user_id, "limit": 50, **bounds}
    sql, arguments = sql_and_arguments(PAGES[order].statement, params)
    await conn.execute(f"PREPARE page AS {sql}")
    try:
        # Only integers: written out as they are.
        values = ", ".join(str(int(a)) for a in arguments)
        explained = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page({values})")
    finally:
        await conn.execute("DEALLOCATE page")
    plan: dict[str, Any] = json.loads(explained)[0]
    return plan


@pytest.mark.parametrize("planning", SETTINGS)
async def test_a_page_at_any_depth_reads_only_its_rows_from_an_index(
    client: httpx.AsyncClient, database_url: str, planning: str
) -> None:
    """The server runs each page statement as a function with one generic plan for all
    parameters: that plan too must read no more than the page, through the chat's seq
    or pts index, never a scan of the table."""
    alice, chat_id = await big_chat(client, database_url)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await _set(conn, SETTINGS[planning])
        for order, bounds in DEPTHS:
            explained = await _explain_page(conn, order, chat_id, alice.id, bounds)
            nodes = plan_nodes(explained["Plan"])
            on_messages = [n for n in nodes if n.get("Relation Name") == "messages"]
            assert on_messages, nodes
            assert all(n["Node Type"] != "Seq Scan" for n in on_messages), (order, nodes)
            indexes = {n.get("Index Name") for n in nodes} - {None}
            assert indexes & {"uq_messages_chat_id_seq", "uq_messages_chat_id_pts"}, nodes
            assert all(n["Actual Rows"] <= 50 for n in nodes), (order, bounds, nodes)
    finally:
        await conn.close()


async def test_no_page_function_is_compiled_by_jit(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """A generic plan's cost is a guess, and past `jit_above_cost` PostgreSQL compiles
    the plan on every call (tens to hundreds of ms for a page read in half of one): the
    page functions run with `jit = off`. Checked with every plan over the threshold."""
    alice, chat_id = await big_chat(client, database_url)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        if not await conn.fetchval("SELECT pg_jit_available()"):
            pytest.skip("this PostgreSQL has no JIT (built without LLVM): nothing to turn off")
        await conn.execute("SET jit_above_cost = 0")
        # The check sees JIT where PostgreSQL uses it ...
        compiled = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM chats")
        assert "JIT" in json.loads(compiled)[0]
        # ... and the page functions' own settings keep every page kind from it.
        await _set(conn, PLAN_SETTINGS)
        for order, bounds in DEPTHS:
            explained = await _explain_page(conn, order, chat_id, alice.id, bounds)
            assert "JIT" not in explained, (order, explained)
    finally:
        await conn.close()

"""A history page's JSON is written by PostgreSQL and sent by REST as it is: it must be,
value for value, what pydantic writes for the same messages (MessageOut in JSON mode),
timestamps included, and what the socket `sync` answers for the same page."""

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from pydantic import TypeAdapter

from chat_server.direct_sql import direct_connection
from chat_server.messages.history import HistoryPage, list_changes, list_history
from chat_server.messages.schemas import MessageOut
from chat_server.messages.views import load_messages
from tests.support.api import (
    TestUser,
    delete_message,
    edit,
    group,
    private_chat,
    react,
    read,
    register,
    send,
)
from tests.support.db import plain_dsn, rows, value

MESSAGES = TypeAdapter(list[MessageOut])

QUOTES = 'say "hi" \\ back\\slash / tab\there\nnew line \r\x01\x08\x0c\x1f\x7f end'
SEPARATORS = "line\u2028separator\u2029paragraph </script> <!-- & ' `"
UNICODE = "Привет, мир 👋🏽 👨‍👩‍👧 ❤️ é (e\u0301) 中文 𝄞 \ufeff zero\u200bwidth"
LONG = "x" * 90 + "😀" * 20  # its quote is cut at 100 characters, inside the emoji
# created_at of seq 1…5, edited_at of seq 6: pydantic writes six digits of fraction,
# none at all on a whole second, and `Z`.
TIMES = {
    1: ("2026-03-01 10:00:00+00", "2026-03-01T10:00:00Z"),
    2: ("2026-03-01 10:00:01.12+00", "2026-03-01T10:00:01.120000Z"),
    3: ("2026-03-01 10:00:02.000001+00", "2026-03-01T10:00:02.000001Z"),
    4: ("2026-03-01 10:00:03.999999+00", "2026-03-01T10:00:03.999999Z"),
    5: ("2026-03-01 12:00:04.5+02", "2026-03-01T10:00:04.500000Z"),
}
EDITED = ("2026-03-01 10:05:00+00", "2026-03-01T10:05:00Z")


async def every_variant(client: httpx.AsyncClient, database_url: str) -> tuple[TestUser, int]:
    """A group chat whose messages cover every shape a MessageOut takes."""
    alice, bob, carol = [await register(client, name) for name in ("Alice", "Bob", "Carol")]
    chat_id = (await group(client, alice, [bob, carol]))["chat_id"]
    await send(client, alice, chat_id, "hello")  # 1
    await send(client, bob, chat_id, QUOTES)  # 2
    await send(client, carol, chat_id, UNICODE)  # 3
    await send(client, alice, chat_id, SEPARATORS, reply_to_seq=1)  # 4
    await send(client, bob, chat_id, LONG)  # 5
    await send(client, alice, chat_id, "edited soon", reply_to_seq=5)  # 6: a cut quote
    await edit(client, alice, chat_id, 6, 'edited ✏️ "now"')
    await send(client, bob, chat_id, "deleted soon")  # 7
    await send(client, carol, chat_id, "answers a deleted one", reply_to_seq=7)  # 8
    await delete_message(client, bob, chat_id, 7)
    await send(client, alice, chat_id, "answers one that is not there", reply_to_seq=2)  # 9
    await send(client, bob, chat_id, "the last one")  # 10
    for user, seq, emoji in (
        (alice, 1, "👍"),
        (bob, 1, "👍"),
        (carol, 1, "❤️"),
        (bob, 3, "🎉"),
        (alice, 3, "🔥"),
        (carol, 3, "🔥"),
        (carol, 9, "😂"),
    ):
        await react(client, user, chat_id, seq, emoji)
    for user in (alice, bob, carol):
        await read(client, user, chat_id, 4)
    for seq, (stored, _) in TIMES.items():
        await value(
            database_url,
            "UPDATE messages SET created_at = $3::text::timestamptz"
            " WHERE chat_id = $1 AND seq = $2",
            chat_id,
            seq,
            stored,
        )
    await value(
        database_url,
        "UPDATE messages SET edited_at = $2::text::timestamptz WHERE chat_id = $1 AND seq = 6",
        chat_id,
        EDITED[0],
    )
    # The foreign key (ON DELETE CASCADE) keeps any route from leaving a reply to a seq
    # the chat does not have; the page still handles one, so make one past the key.
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(
                "UPDATE messages SET reply_to_seq = 999 WHERE chat_id = $1 AND seq = 9", chat_id
            )
    finally:
        await conn.close()
    return alice, chat_id


async def pydantic_json(
    app: FastAPI, database_url: str, chat_id: int, order: str
) -> list[dict[str, Any]]:
    """The chat's messages built as MessageOut from Python values (views.load_messages,
    the path search and the message routes take), in pydantic's JSON mode."""
    sql = f"SELECT id FROM messages WHERE chat_id = $1 ORDER BY {order}"
    ids = [row["id"] for row in await rows(database_url, sql, chat_id)]
    async with direct_connection(app.state.runtime.engine) as conn:
        models = await load_messages(conn, ids)
    written: list[dict[str, Any]] = MESSAGES.dump_python(models, mode="json")
    return written


def assert_same(page: HistoryPage, expected: list[dict[str, Any]]) -> None:
    """Equal values, and equal as text too (`==` alone takes True for 1 and 0 for False),
    keys in MessageOut's order at every level, as pydantic writes them."""
    written = json.loads(page.json)
    assert written == expected
    assert json.dumps(written) == json.dumps(expected)
    # The socket `sync` reads the same JSON with pydantic: it round-trips unchanged.
    assert MESSAGES.dump_python(page.messages, mode="json") == expected


async def test_the_page_json_is_what_pydantic_writes(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    alice, chat_id = await every_variant(client, database_url)
    expected = await pydantic_json(app, database_url, chat_id, "seq")
    engine = app.state.runtime.engine

    # The variants are there, and the timestamps are written as pydantic writes them.
    assert [m["created_at"] for m in expected[:5]] == [shown for _, shown in TIMES.values()]
    assert expected[5]["edited_at"] == EDITED[1]
    assert expected[0]["reactions"] == [
        {
            "emoji": "👍",
            "count": 2,
            "user_ids": [expected[0]["sender_id"], expected[1]["sender_id"]],
        },
        {"emoji": "❤️", "count": 1, "user_ids": [expected[2]["sender_id"]]},
    ]
    assert [m["text"] for m in expected[1:3]] == [QUOTES, UNICODE]
    assert expected[5]["reply_to"]["text"] == LONG[:100]
    assert (expected[6]["deleted"], expected[6]["text"]) == (True, None)
    assert expected[7]["reply_to"] == {
        "seq": 7,
        "sender_id": expected[6]["sender_id"],
        "text": None,
    }
    assert expected[8]["reply_to"] is None  # answers seq 999: no quote
    assert [m["is_read"] for m in expected[:5]] == [True] * 4 + [False]

    page = await list_history(engine=engine, user_id=alice.id, chat_id=chat_id, limit=200)
    assert page.total == 10
    assert_same(page, expected)
    newest = await list_history(engine=engine, user_id=alice.id, chat_id=chat_id, before_seq=9)
    assert_same(newest, expected[:8])
    changes = await list_changes(engine=engine, user_id=alice.id, chat_id=chat_id, after_pts=0)
    assert_same(changes, await pydantic_json(app, database_url, chat_id, "pts"))

    response = await client.get(f"/history/{chat_id}", params={"limit": 200}, headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["X-Total-Count"] == "10"
    assert response.json() == expected


async def test_rest_history_equals_socket_sync(http, users, connect) -> None:
    """Over the real server: the REST body and the `sync` ack carry the same page."""
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    for text in ("first", UNICODE, QUOTES):
        await send(http, alice, chat_id, text)
    await send(http, bob, chat_id, "a reply", reply_to_seq=2)
    await edit(http, alice, chat_id, 1, "first, edited")
    await react(http, bob, chat_id, 2, "👍")
    await react(http, alice, chat_id, 2, "👀")
    await delete_message(http, alice, chat_id, 3)
    tab = await connect(bob)
    for rest, sync in (
        ({"after_seq": 1, "limit": 100}, {"after_seq": 1, "limit": 100}),
        ({"changed_after_pts": 0}, {"after_pts": 0}),
    ):
        ack = await tab.call("sync", {"chat_id": chat_id, **sync})
        response = await http.get(f"/history/{chat_id}", params=rest, headers=bob.headers)
        assert response.status_code == 200
        assert ack["ok"] is True and len(ack["messages"]) >= 3
        assert response.json() == ack["messages"]
        assert datetime.fromisoformat(response.json()[0]["created_at"]).tzinfo == UTC

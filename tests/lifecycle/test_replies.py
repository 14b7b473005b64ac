"""Replies: `reply_to_seq` on a send becomes a `reply_to` quote in every payload."""

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import event

from chat_server.direct_sql import DirectConnection
from tests.support.api import (
    delete_message,
    private_chat,
    react,
    register,
    send,
)
from tests.support.db import value


async def test_a_reply_carries_its_quote_in_the_ack_the_event_history_and_sync(
    http, users, connect
):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    await send(http, alice, chat_id, "q" * 150)
    tab_a, tab_b = await connect(alice), await connect(bob)

    ack = await tab_b.call(
        "send_message",
        {
            "chat_id": chat_id,
            "text": "answer",
            "client_msg_id": str(uuid.uuid4()),
            "reply_to_seq": 1,
        },
    )
    quote = {"seq": 1, "sender_id": alice.id, "text": "q" * 100}  # cut to 100 characters
    assert ack["ok"] is True, ack
    assert ack["message"]["reply_to"] == quote
    [event_a] = await tab_a.wait_for("message")
    assert event_a == ack["message"]

    over_rest = await send(http, alice, chat_id, "over REST", reply_to_seq=2)
    assert over_rest["reply_to"] == {"seq": 2, "sender_id": bob.id, "text": "answer"}

    history = (await http.get(f"/history/{chat_id}", headers=bob.headers)).json()
    assert [m["reply_to"] for m in history] == [None, quote, over_rest["reply_to"]]
    for sync in ({"after_seq": 0}, {"after_pts": 0}):
        answer = await tab_a.call("sync", {"chat_id": chat_id, **sync})
        assert answer["messages"] == history


async def test_a_reply_to_no_message_of_the_chat_is_not_found_and_stores_nothing(
    http, users, connect, database_url
):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    chat_id = await private_chat(http, alice, bob)
    other = await private_chat(http, alice, carol)
    await send(http, alice, chat_id, "one")
    await send(http, alice, other, "one")
    await send(http, alice, other, "two")  # seq 2 exists, but in another chat
    tab = await connect(alice)

    for seq in (2, 99):
        ack = await tab.call(
            "send_message",
            {
                "chat_id": chat_id,
                "text": "re",
                "client_msg_id": str(uuid.uuid4()),
                "reply_to_seq": seq,
            },
        )
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", ack
        response = await http.post(
            f"/chats/{chat_id}/messages",
            json={"text": "re", "reply_to_seq": seq},
            headers=alice.headers,
        )
        assert response.status_code == 404, response.text
    assert await value(database_url, "SELECT count(*) FROM messages") == 3
    assert await value(database_url, f"SELECT last_pts FROM chats WHERE id = {chat_id}") == 1


async def test_a_retry_with_another_reply_to_seq_is_an_idempotency_conflict(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    await send(http, alice, chat_id, "one")
    await send(http, bob, chat_id, "two")
    tab = await connect(alice)
    key = str(uuid.uuid4())
    send_reply = {"chat_id": chat_id, "text": "re", "client_msg_id": key, "reply_to_seq": 1}

    first = await tab.call("send_message", send_reply)
    assert first["ok"] is True and first["duplicate"] is False
    again = await tab.call("send_message", send_reply)
    assert again["duplicate"] is True and again["message"] == first["message"]
    for other in (2, None):
        conflict = await tab.call("send_message", {**send_reply, "reply_to_seq": other})
        assert conflict["error"]["code"] == "idempotency_conflict", conflict


async def test_the_quote_loses_its_text_once_the_original_is_deleted(http, users):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    await send(http, alice, chat_id, "regrettable")
    await send(http, bob, chat_id, "what?", reply_to_seq=1)
    await delete_message(http, alice, chat_id, 1)

    history = (await http.get(f"/history/{chat_id}", headers=bob.headers)).json()
    assert history[1]["reply_to"] == {"seq": 1, "sender_id": alice.id, "text": None}
    # A deleted message may still be replied to.
    late = await send(http, bob, chat_id, "too late", reply_to_seq=1)
    assert late["reply_to"] == {"seq": 1, "sender_id": alice.id, "text": None}


async def test_history_reads_quotes_and_reactions_without_a_query_per_message(
    client: httpx.AsyncClient, app, monkeypatch: pytest.MonkeyPatch
):
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    await send(client, alice, chat_id, "first")
    for n in range(30):
        await send(client, bob, chat_id, f"reply {n}", reply_to_seq=1)
    await asyncio.gather(*(react(client, alice, chat_id, seq, "👍") for seq in range(2, 32)))

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    run_direct = DirectConnection.execute

    async def count_direct(self, statement, params=None):
        statements.append(repr(statement))
        return await run_direct(self, statement, params)

    monkeypatch.setattr(DirectConnection, "execute", count_direct)
    engine = app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        counts = []
        for limit in (2, 31):
            statements.clear()
            response = await client.get(
                f"/history/{chat_id}", params={"limit": limit}, headers=bob.headers
            )
            page = response.json()
            assert len(page) == limit
            assert page[-1]["reply_to"]["text"] == "first"
            assert page[-1]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [alice.id]}]
            counts.append(len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert counts == [1, 1], statements  # one statement per page, whatever its size

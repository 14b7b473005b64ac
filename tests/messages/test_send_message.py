"""Sending over REST: exactly-once storage, gapless seq, validation, conflicts."""

import asyncio
import json
import uuid

import asyncpg
import httpx

from tests.support.api import TestUser, group, private_chat, register, send
from tests.support.db import plain_dsn, value, wait_until_waiting_for_a_lock


async def _count_messages(database_url: str) -> int:
    return int(await value(database_url, "SELECT count(*) FROM messages"))


async def _pair(client: httpx.AsyncClient) -> tuple[TestUser, TestUser, int]:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    return alice, bob, await private_chat(client, alice, bob)


async def test_send_returns_201_and_the_stored_message(client):
    alice, _, chat_id = await _pair(client)
    client_msg_id = str(uuid.uuid4())
    response = await client.post(
        f"/chats/{chat_id}/messages",
        json={"text": "hi", "client_msg_id": client_msg_id},
        headers=alice.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["chat_id"] == chat_id
    assert body["sender_id"] == alice.id
    assert body["seq"] == 1
    assert body["text"] == "hi"
    assert body["is_read"] is False
    assert body["client_msg_id"] == client_msg_id
    assert body["created_at"].endswith(("Z", "+00:00"))


async def test_duplicate_client_id_returns_original_message_with_200(client, database_url):
    alice, _, chat_id = await _pair(client)
    key = str(uuid.uuid4())
    first = await client.post(
        f"/chats/{chat_id}/messages",
        json={"text": "once"},
        headers={**alice.headers, "Idempotency-Key": key},
    )
    again = await client.post(
        f"/chats/{chat_id}/messages",
        json={"text": "once", "client_msg_id": key},
        headers=alice.headers,
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await _count_messages(database_url) == 1


async def test_reusing_a_client_id_for_other_text_or_chat_is_409(client, database_url):
    alice, _bob, chat_id = await _pair(client)
    carol = await register(client, "Carol")
    other_chat = await private_chat(client, alice, carol)
    key = str(uuid.uuid4())
    await send(client, alice, chat_id, "original", key)
    other_text = await client.post(
        f"/chats/{chat_id}/messages",
        json={"text": "changed", "client_msg_id": key},
        headers=alice.headers,
    )
    other_chat_response = await client.post(
        f"/chats/{other_chat}/messages",
        json={"text": "original", "client_msg_id": key},
        headers=alice.headers,
    )
    assert other_text.status_code == 409
    assert other_chat_response.status_code == 409
    assert "client_msg_id" in other_text.json()["detail"]
    assert await _count_messages(database_url) == 1


async def test_same_client_id_from_two_senders_is_two_messages(client):
    alice, bob, chat_id = await _pair(client)
    key = str(uuid.uuid4())
    a = await send(client, alice, chat_id, "same", key)
    b = await send(client, bob, chat_id, "same", key)
    assert a["id"] != b["id"]
    assert (a["seq"], b["seq"]) == (1, 2)


async def test_bad_input_is_422_and_stores_nothing(client, database_url):
    alice, _, chat_id = await _pair(client)
    url = f"/chats/{chat_id}/messages"
    bad_bodies = [
        {"text": ""},
        {"text": "   \n\t "},
        {"text": "x" * 4097},
        {"text": 42},
        {},
        {"text": "ok", "client_msg_id": "not-a-uuid"},
        {"text": "ok", "extra": 1},
        {"text": "nul \x00 inside"},
        {"text": "lone \udc00 surrogate"},
    ]
    for body in bad_bodies:
        # json.dumps escapes what httpx's encoder refuses (lone surrogates), as a client may.
        response = await client.post(
            url,
            content=json.dumps(body),
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, body
        assert "detail" in response.json()
    bad_key = await client.post(
        url, json={"text": "ok"}, headers={**alice.headers, "Idempotency-Key": "nope"}
    )
    differing = await client.post(
        url,
        json={"text": "ok", "client_msg_id": str(uuid.uuid4())},
        headers={**alice.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert bad_key.status_code == 422
    assert differing.status_code == 422
    assert (
        await client.post("/chats/abc/messages", json={"text": "x"}, headers=alice.headers)
    ).status_code == 422
    assert await _count_messages(database_url) == 0


async def test_text_of_exactly_4096_characters_is_accepted(client):
    alice, _, chat_id = await _pair(client)
    message = await send(client, alice, chat_id, "я" * 4096)
    assert len(message["text"]) == 4096


async def test_non_member_cannot_send_and_learns_nothing(client, database_url):
    _alice, _bob, chat_id = await _pair(client)
    mallory = await register(client, "Mallory")
    into_other = await client.post(
        f"/chats/{chat_id}/messages", json={"text": "hi"}, headers=mallory.headers
    )
    into_missing = await client.post(
        "/chats/999999/messages", json={"text": "hi"}, headers=mallory.headers
    )
    assert into_other.status_code == into_missing.status_code == 404
    assert into_other.json() == into_missing.json()
    no_token = await client.post(f"/chats/{chat_id}/messages", json={"text": "hi"})
    assert no_token.status_code == 401
    assert await _count_messages(database_url) == 0


async def test_50_parallel_sends_with_one_key_store_one_row(client, database_url):
    alice, _, chat_id = await _pair(client)
    key = str(uuid.uuid4())

    async def attempt() -> httpx.Response:
        return await client.post(
            f"/chats/{chat_id}/messages",
            json={"text": "exactly once"},
            headers={**alice.headers, "Idempotency-Key": key},
        )

    responses = await asyncio.gather(*(attempt() for _ in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert {r.json()["seq"] for r in responses} == {1}
    assert await _count_messages(database_url) == 1
    # The duplicates did not burn sequence numbers.
    assert (await send(client, alice, chat_id, "next"))["seq"] == 2


async def test_200_parallel_sends_from_5_users_get_seq_1_to_200(client, database_url):
    users = [await register(client, f"User{i}") for i in range(5)]
    team = await group(client, users[0], users[1:])
    chat_id = team["chat_id"]

    async def burst(user: TestUser) -> list[dict]:
        return await asyncio.gather(
            *(send(client, user, chat_id, f"{user.name} #{i}") for i in range(40))
        )

    results = [m for batch in await asyncio.gather(*(burst(u) for u in users)) for m in batch]
    assert sorted(m["seq"] for m in results) == list(range(1, 201))
    assert await _count_messages(database_url) == 200

    history = (await client.get(f"/history/{chat_id}?limit=200", headers=users[0].headers)).json()
    assert [m["seq"] for m in history] == list(range(1, 201))
    times = [m["created_at"] for m in history]
    # Send time and seq agree (both taken under the chat row lock).
    assert times == sorted(times)


async def test_20_parallel_private_chat_requests_from_both_sides_make_one_chat(client):
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")

    async def open_chat(me: TestUser, other: TestUser) -> httpx.Response:
        return await client.post("/chats/private", json={"user_id": other.id}, headers=me.headers)

    responses = await asyncio.gather(
        *(open_chat(alice, bob) if i % 2 else open_chat(bob, alice) for i in range(20))
    )
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    chats = (await client.get("/chats", headers=alice.headers)).json()
    assert len(chats) == 1
    assert sorted(m["user_id"] for m in responses[0].json()["members"]) == sorted(
        [alice.id, bob.id]
    )


async def test_a_send_waiting_while_its_sender_is_removed_is_refused(client, database_url):
    """The removal holds the chat lock; a send that waited for it must see the removal."""
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    remover = await asyncpg.connect(plain_dsn(database_url))
    try:
        removal = remover.transaction()
        await removal.start()
        await remover.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
        sending = asyncio.create_task(
            client.post(f"/chats/{chat_id}/messages", json={"text": "sneaky"}, headers=bob.headers)
        )
        await wait_until_waiting_for_a_lock(database_url)
        await remover.execute(
            "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2", chat_id, bob.id
        )
        await removal.commit()
        response = await sending
    finally:
        await remover.close()
    assert response.status_code == 404, response.text
    assert await _count_messages(database_url) == 0


async def test_a_strangers_send_does_not_wait_for_the_chat_lock(client, database_url):
    """Only members queue on the chat row lock; anyone else is refused at once."""
    _, _, chat_id = await _pair(client)
    mallory = await register(client, "Mallory")
    holder = await asyncpg.connect(plain_dsn(database_url))
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
            refused = await asyncio.wait_for(
                client.post(
                    f"/chats/{chat_id}/messages",
                    json={"text": "let me in"},
                    headers=mallory.headers,
                ),
                timeout=5,
            )
    finally:
        await holder.close()
    assert refused.status_code == 404
    assert await _count_messages(database_url) == 0

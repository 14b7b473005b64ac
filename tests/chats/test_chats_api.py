"""Private chats, the chat list (names, last message, unread counts, order) and chat details."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.api import TestUser, group, private_chat, read, register, send


async def chat_list(client: httpx.AsyncClient, user: TestUser) -> list[dict[str, Any]]:
    response = await client.get("/chats", headers=user.headers)
    assert response.status_code == 200, response.text
    chats: list[dict[str, Any]] = response.json()
    return chats


async def chat_row(client: httpx.AsyncClient, user: TestUser, chat_id: int) -> dict[str, Any]:
    [row] = [c for c in await chat_list(client, user) if c["id"] == chat_id]
    return row


# --- POST /chats/private ----------------------------------------------------------------


async def test_open_private_chat_creates_it_with_201_then_returns_it_with_200(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    first = await client.post("/chats/private", json={"user_id": bob.id}, headers=alice.headers)
    assert first.status_code == 201, first.text
    again = await client.post("/chats/private", json={"user_id": bob.id}, headers=alice.headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


async def test_open_private_chat_from_the_other_side_returns_the_same_chat(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    first = await client.post("/chats/private", json={"user_id": bob.id}, headers=alice.headers)
    reverse = await client.post("/chats/private", json={"user_id": alice.id}, headers=bob.headers)
    assert first.status_code == 201
    assert reverse.status_code == 200
    assert reverse.json()["id"] == first.json()["id"]
    # Named after the other person, as in the chat list.
    assert (first.json()["name"], reverse.json()["name"]) == ("Bob", "Alice")
    shown = await client.get(f"/chats/{first.json()['id']}", headers=bob.headers)
    assert shown.json()["name"] == "Alice"


async def test_open_private_chat_returns_the_chat_with_both_members(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    response = await client.post("/chats/private", json={"user_id": bob.id}, headers=alice.headers)
    body = response.json()
    assert body["type"] == "private"
    assert body["last_seq"] == 0
    assert sorted(m["user_id"] for m in body["members"]) == sorted([alice.id, bob.id])
    assert all(m["last_read_seq"] == 0 for m in body["members"])


async def test_private_chats_with_different_people_are_different_chats(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    assert await private_chat(client, alice, bob) != await private_chat(client, alice, carol)


async def test_open_private_chat_with_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post(
        "/chats/private", json={"user_id": 987654321}, headers=alice.headers
    )
    assert response.status_code == 404
    assert await chat_list(client, alice) == []


async def test_open_private_chat_with_yourself_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post(
        "/chats/private", json={"user_id": alice.id}, headers=alice.headers
    )
    assert response.status_code == 422
    assert await chat_list(client, alice) == []


@pytest.mark.parametrize(
    "user_id",
    ["abc", "2", 1.5, True, None, 0, -1, 2**63],
    ids=["word", "numeric-string", "float", "bool", "null", "zero", "negative", "too-big"],
)
async def test_open_private_chat_with_bad_user_id_is_422(
    client: httpx.AsyncClient, user_id: object
) -> None:
    alice = await register(client, "Alice")
    await register(client, "Bob")
    response = await client.post("/chats/private", json={"user_id": user_id}, headers=alice.headers)
    assert response.status_code == 422, response.text


async def test_open_private_chat_without_body_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post("/chats/private", json={}, headers=alice.headers)
    assert response.status_code == 422


async def test_open_private_chat_without_token_is_401(client: httpx.AsyncClient) -> None:
    bob = await register(client, "Bob")
    response = await client.post("/chats/private", json={"user_id": bob.id})
    assert response.status_code == 401


# --- GET /chats -----------------------------------------------------------------------


async def test_chat_list_is_empty_for_a_new_user(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    assert await chat_list(client, alice) == []


async def test_chat_list_names_a_private_chat_after_the_other_person(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    alice_row = await chat_row(client, alice, chat_id)
    bob_row = await chat_row(client, bob, chat_id)
    assert (alice_row["type"], alice_row["name"]) == ("private", "Bob")
    assert (bob_row["type"], bob_row["name"]) == ("private", "Alice")
    assert alice_row["group_id"] is None
    assert alice_row["peer"]["id"] == bob.id


async def test_chat_list_shows_groups_with_their_name_and_group_id(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob], name="Book club")
    for user in (alice, bob):
        row = await chat_row(client, user, created["chat_id"])
        assert row["type"] == "group"
        assert row["name"] == "Book club"
        assert row["group_id"] == created["id"]


async def test_chat_list_holds_private_and_group_chats_and_only_mine(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    dm = await private_chat(client, alice, bob)
    team = await group(client, alice, [bob])
    other_dm = await private_chat(client, bob, carol)
    assert {c["id"] for c in await chat_list(client, alice)} == {dm, team["chat_id"]}
    assert {c["id"] for c in await chat_list(client, bob)} == {dm, team["chat_id"], other_dm}
    assert {c["id"] for c in await chat_list(client, carol)} == {other_dm}


async def test_chat_list_shows_the_last_message(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    assert (await chat_row(client, alice, chat_id))["last_message"] is None
    await send(client, alice, chat_id, "first")
    last = await send(client, bob, chat_id, "second")
    row = await chat_row(client, alice, chat_id)
    assert row["last_message"]["id"] == last["id"]
    assert row["last_message"]["text"] == "second"
    assert row["last_message"]["sender_id"] == bob.id
    assert row["last_seq"] == 2


async def test_unread_count_counts_only_other_peoples_messages(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    for text in ("one", "two", "three"):
        await send(client, alice, chat_id, text)
    await send(client, bob, chat_id, "reply")
    assert (await chat_row(client, bob, chat_id))["unread_count"] == 3
    assert (await chat_row(client, alice, chat_id))["unread_count"] == 1


async def test_unread_count_drops_after_reading(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    for i in range(5):
        await send(client, alice, chat_id, f"message {i}")
    assert await read(client, bob, chat_id, 2) == 2
    row = await chat_row(client, bob, chat_id)
    assert (row["unread_count"], row["last_read_seq"]) == (3, 2)
    await read(client, bob, chat_id, 5)
    assert (await chat_row(client, bob, chat_id))["unread_count"] == 0


async def test_unread_count_ignores_own_messages_above_the_watermark(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    await send(client, bob, chat_id, "hi")  # seq 1
    await send(client, alice, chat_id, "hello")  # seq 2
    await send(client, bob, chat_id, "how are you")  # seq 3
    await read(client, alice, chat_id, 1)
    # Alice has not read seq 2 or 3, but seq 2 is her own.
    assert (await chat_row(client, alice, chat_id))["unread_count"] == 1


async def test_unread_count_in_a_group_is_per_member(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    chat_id = (await group(client, alice, [bob, carol]))["chat_id"]
    await send(client, alice, chat_id, "one")
    await send(client, bob, chat_id, "two")
    await read(client, carol, chat_id, 1)
    assert (await chat_row(client, alice, chat_id))["unread_count"] == 1
    assert (await chat_row(client, bob, chat_id))["unread_count"] == 1
    assert (await chat_row(client, carol, chat_id))["unread_count"] == 1


async def test_chat_list_puts_the_most_recently_active_chat_first(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    with_bob = await private_chat(client, alice, bob)
    with_carol = await private_chat(client, alice, carol)
    team = (await group(client, alice, [bob, carol]))["chat_id"]
    # No messages yet: newest chat first.
    assert [c["id"] for c in await chat_list(client, alice)] == [team, with_carol, with_bob]
    await send(client, bob, with_bob, "ping")
    assert [c["id"] for c in await chat_list(client, alice)] == [with_bob, team, with_carol]
    await send(client, alice, with_carol, "hi")
    assert [c["id"] for c in await chat_list(client, alice)][:2] == [with_carol, with_bob]
    await send(client, carol, team, "news")
    assert [c["id"] for c in await chat_list(client, alice)] == [team, with_carol, with_bob]


async def test_chat_list_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/chats")).status_code == 401


# --- GET /chats/{id} ------------------------------------------------------------------


async def test_get_chat_shows_members_and_their_read_watermarks(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    await send(client, alice, chat_id, "one")
    await send(client, alice, chat_id, "two")
    await read(client, bob, chat_id, 1)
    response = await client.get(f"/chats/{chat_id}", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["type"], body["last_seq"]) == (chat_id, "private", 2)
    watermarks = {m["user_id"]: m["last_read_seq"] for m in body["members"]}
    assert watermarks == {alice.id: 0, bob.id: 1}
    names = {m["user_id"]: m["name"] for m in body["members"]}
    assert names == {alice.id: "Alice", bob.id: "Bob"}


async def test_get_group_chat_carries_group_id_and_roles(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob], name="Team")
    response = await client.get(f"/chats/{created['chat_id']}", headers=bob.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["type"], body["name"], body["group_id"]) == ("group", "Team", created["id"])
    roles = {m["user_id"]: m["role"] for m in body["members"]}
    assert roles == {alice.id: "owner", bob.id: "member"}


async def test_outsider_cannot_see_a_private_chat_and_cannot_tell_it_exists(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    chat_id = await private_chat(client, alice, bob)
    await send(client, alice, chat_id, "secret plans")
    not_member = await client.get(f"/chats/{chat_id}", headers=carol.headers)
    missing = await client.get(f"/chats/{chat_id + 1000}", headers=carol.headers)
    assert not_member.status_code == 404
    assert missing.status_code == 404
    assert not_member.json() == missing.json()
    assert "secret" not in not_member.text
    assert "Alice" not in not_member.text


async def test_get_chat_with_bad_id_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    for bad in ("abc", "0", "-3"):
        response = await client.get(f"/chats/{bad}", headers=alice.headers)
        assert response.status_code == 422, bad


async def test_get_chat_without_token_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    assert (await client.get(f"/chats/{chat_id}")).status_code == 401


async def test_the_chat_list_counts_unread_and_last_seq_from_one_moment_while_sends_go_on(
    client: httpx.AsyncClient,
) -> None:
    """Each row of GET /chats is one snapshot: its unread_count never counts a message past
    its last_seq (the page adds live messages after last_seq and would count one twice)."""
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    sending = True

    async def bob_sends() -> None:
        nonlocal sending
        try:
            for i in range(120):
                await send(client, bob, chat_id, f"news {i}")
        finally:
            sending = False

    async def alice_looks() -> int:
        looks = 0
        while sending:
            response = await client.get("/chats", headers=alice.headers)
            assert response.status_code == 200, response.text
            [row] = response.json()
            # Alice has read nothing and every message is Bob's.
            assert row["unread_count"] == row["last_seq"], row
            if row["last_message"] is not None:
                assert row["last_message"]["seq"] == row["last_seq"], row
            looks += 1
        return looks

    _, looks = await asyncio.gather(bob_sends(), alice_looks())
    assert looks > 10  # the list really was read while the sends went on

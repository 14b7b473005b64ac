"""GET /history/{chat_id}: order, offset and keyset paging, bounds, shape, access."""

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.api import TestUser, private_chat, register, send


async def fill(client: httpx.AsyncClient, users: list[TestUser], chat_id: int, count: int) -> None:
    """`count` messages "m1".."m<count>", senders taking turns."""
    for i in range(1, count + 1):
        await send(client, users[i % len(users)], chat_id, f"m{i}")


async def page(
    client: httpx.AsyncClient, user: TestUser, chat_id: int, **params: int
) -> list[dict[str, Any]]:
    response = await client.get(f"/history/{chat_id}", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()
    return messages


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]


async def pair(client: httpx.AsyncClient) -> tuple[TestUser, TestUser, int]:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    return alice, bob, await private_chat(client, alice, bob)


# --- order and shape ------------------------------------------------------------------


async def test_history_is_ascending_by_send_time(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await send(client, alice, chat_id, "first")
    await send(client, bob, chat_id, "second")
    await send(client, alice, chat_id, "third")
    messages = await page(client, bob, chat_id)
    assert [m["text"] for m in messages] == ["first", "second", "third"]
    assert seqs(messages) == [1, 2, 3]
    times = [datetime.fromisoformat(m["created_at"]) for m in messages]
    assert times == sorted(times)


async def test_history_of_an_empty_chat_is_an_empty_list(client: httpx.AsyncClient) -> None:
    alice, _, chat_id = await pair(client)
    response = await client.get(f"/history/{chat_id}", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "0"


async def test_message_has_the_documented_shape(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    client_msg_id = str(uuid.uuid4())
    await send(client, alice, chat_id, "hello", client_msg_id=client_msg_id)
    [message] = await page(client, bob, chat_id)
    assert set(message) == {
        "id",
        "chat_id",
        "sender_id",
        "seq",
        "pts",
        "text",
        "created_at",
        "edited_at",
        "deleted",
        "reply_to",
        "reactions",
        "is_read",
        "client_msg_id",
    }
    assert isinstance(message["id"], int)
    assert (message["chat_id"], message["sender_id"], message["seq"]) == (chat_id, alice.id, 1)
    assert (message["pts"], message["edited_at"], message["deleted"]) == (1, None, False)
    assert (message["reply_to"], message["reactions"]) == (None, [])
    assert message["text"] == "hello"
    assert message["is_read"] is False
    assert message["client_msg_id"] == client_msg_id


async def test_created_at_is_iso_8601_utc_with_a_timezone(client: httpx.AsyncClient) -> None:
    alice, _, chat_id = await pair(client)
    before = datetime.now().astimezone()
    await send(client, alice, chat_id, "hello")
    [message] = await page(client, alice, chat_id)
    created_at = datetime.fromisoformat(message["created_at"])
    assert created_at.tzinfo is not None
    assert created_at.utcoffset() == timedelta(0)
    assert abs(created_at - before) < timedelta(minutes=1)


async def test_created_at_never_decreases_along_seq(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 30)
    messages = await page(client, alice, chat_id)
    assert seqs(messages) == list(range(1, 31))
    times = [datetime.fromisoformat(m["created_at"]) for m in messages]
    assert all(a <= b for a, b in itertools.pairwise(times))


async def test_history_shows_is_read_once_the_recipient_reads(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice], chat_id, 3)
    response = await client.post(f"/chats/{chat_id}/read", json={"seq": 2}, headers=bob.headers)
    assert response.status_code == 200
    assert [m["is_read"] for m in await page(client, alice, chat_id)] == [True, True, False]


# --- limit and offset -----------------------------------------------------------------


async def test_limit_defaults_to_50(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 60)
    assert seqs(await page(client, alice, chat_id)) == list(range(1, 51))


async def test_limit_up_to_200_is_accepted(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 5)
    assert seqs(await page(client, alice, chat_id, limit=200)) == [1, 2, 3, 4, 5]
    assert seqs(await page(client, alice, chat_id, limit=1)) == [1]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 201},
        {"limit": 0},
        {"limit": -1},
        {"limit": "abc"},
        {"offset": -1},
        {"offset": "abc"},
        {"after_seq": -1},
        {"before_seq": 0},
        {"before_seq": "abc"},
        {"offset": 2**63},
        {"after_seq": 2**63},
        {"before_seq": 2**63},
    ],
    ids=[
        "limit-201",
        "limit-0",
        "limit-negative",
        "limit-word",
        "offset-negative",
        "offset-word",
        "after-seq-negative",
        "before-seq-0",
        "before-seq-word",
        "offset-beyond-bigint",
        "after-seq-beyond-bigint",
        "before-seq-beyond-bigint",
    ],
)
async def test_out_of_range_paging_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    alice, _, chat_id = await pair(client)
    await send(client, alice, chat_id, "hello")
    response = await client.get(f"/history/{chat_id}", params=params, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert "hello" not in response.text


async def test_offset_pages_cover_every_message_once(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 120)
    pages = [await page(client, bob, chat_id, limit=50, offset=o) for o in (0, 50, 100, 150)]
    assert [len(p) for p in pages] == [50, 50, 20, 0]
    everything = [m for p in pages for m in p]
    assert seqs(everything) == list(range(1, 121))
    assert [m["text"] for m in everything] == [f"m{i}" for i in range(1, 121)]
    assert len({m["id"] for m in everything}) == 120


async def test_total_count_header_is_the_number_of_messages(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 7)
    for params in ({}, {"limit": 2}, {"offset": 5}, {"after_seq": 3}, {"before_seq": 4}):
        response = await client.get(f"/history/{chat_id}", params=params, headers=alice.headers)
        assert response.headers["X-Total-Count"] == "7", params


# --- keyset paging --------------------------------------------------------------------


async def test_after_seq_returns_the_next_page_ascending(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 120)
    assert seqs(await page(client, alice, chat_id, after_seq=0, limit=50)) == list(range(1, 51))
    assert seqs(await page(client, alice, chat_id, after_seq=50, limit=50)) == list(range(51, 101))
    assert seqs(await page(client, alice, chat_id, after_seq=100, limit=50)) == list(
        range(101, 121)
    )
    assert await page(client, alice, chat_id, after_seq=120) == []


async def test_after_seq_pages_chain_over_the_whole_chat(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 45)
    collected: list[int] = []
    cursor = 0
    while chunk := await page(client, alice, chat_id, after_seq=cursor, limit=10):
        collected += seqs(chunk)
        cursor = chunk[-1]["seq"]
    assert collected == list(range(1, 46))


async def test_before_seq_returns_the_page_just_before_ascending(
    client: httpx.AsyncClient,
) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 120)
    assert seqs(await page(client, alice, chat_id, before_seq=121, limit=50)) == list(
        range(71, 121)
    )
    assert seqs(await page(client, alice, chat_id, before_seq=71, limit=50)) == list(range(21, 71))
    assert seqs(await page(client, alice, chat_id, before_seq=21, limit=50)) == list(range(1, 21))
    assert await page(client, alice, chat_id, before_seq=1) == []


async def test_before_seq_pages_chain_back_to_the_start(client: httpx.AsyncClient) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 45)
    collected: list[int] = []
    cursor = 46
    while chunk := await page(client, alice, chat_id, before_seq=cursor, limit=10):
        assert seqs(chunk) == sorted(seqs(chunk))
        collected = seqs(chunk) + collected
        cursor = chunk[0]["seq"]
    assert collected == list(range(1, 46))


async def test_after_and_before_seq_together_give_the_range_between(
    client: httpx.AsyncClient,
) -> None:
    alice, bob, chat_id = await pair(client)
    await fill(client, [alice, bob], chat_id, 30)
    assert seqs(await page(client, alice, chat_id, after_seq=10, before_seq=20)) == list(
        range(11, 20)
    )


# --- access ---------------------------------------------------------------------------


async def test_non_member_gets_404_and_no_content(client: httpx.AsyncClient) -> None:
    alice, _, chat_id = await pair(client)
    carol = await register(client, "Carol")
    await send(client, alice, chat_id, "for bob only")
    response = await client.get(f"/history/{chat_id}", headers=carol.headers)
    missing = await client.get(f"/history/{chat_id + 1000}", headers=carol.headers)
    assert response.status_code == 404
    assert response.json() == missing.json()
    assert "for bob only" not in response.text
    assert "X-Total-Count" not in response.headers


async def test_history_without_token_is_401(client: httpx.AsyncClient) -> None:
    alice, _, chat_id = await pair(client)
    await send(client, alice, chat_id, "hello")
    response = await client.get(f"/history/{chat_id}")
    assert response.status_code == 401
    assert "hello" not in response.text


async def test_history_of_unknown_chat_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    assert (await client.get("/history/987654321", headers=alice.headers)).status_code == 404


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "1.5", str(2**63)])
async def test_history_with_bad_chat_id_is_422(client: httpx.AsyncClient, bad_id: str) -> None:
    alice = await register(client, "Alice")
    response = await client.get(f"/history/{bad_id}", headers=alice.headers)
    assert response.status_code == 422


async def test_a_new_user_registers_sends_and_the_recipient_sees_it_in_history(client):
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    message = await send(client, alice, chat_id, "hello")
    assert message["seq"] == 1
    response = await client.get(f"/history/{chat_id}", headers=bob.headers)
    assert response.status_code == 200
    assert [m["text"] for m in response.json()] == ["hello"]

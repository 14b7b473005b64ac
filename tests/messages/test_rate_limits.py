"""Message and login rate limits on a real server with small limits: refused sends get
429 or a `rate_limited` ack and store nothing; retries of stored messages still succeed."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import PASSWORD, TestUser, group, register
from tests.support.db import rows, value
from tests.support.servers import (
    server_process,
)
from tests.support.sockets import connected

LIMIT = 3
ADDRESS_LIMIT = 6  # per client address; every test here comes from 127.0.0.1


# A server per test: the limits live in the server's memory, keyed by user id, and ids
# start again at 1 after each test's truncation.
@pytest.fixture
def limited_url(database_url: str, data_dir: Path) -> Iterator[str]:
    with server_process(
        database_url,
        data_dir,
        MESSAGE_RATE_LIMIT=f"{LIMIT}/minute",
        LOGIN_RATE_LIMIT=f"{LIMIT}/minute",
        LOGIN_ADDRESS_RATE_LIMIT=f"{ADDRESS_LIMIT}/minute",
        REGISTER_RATE_LIMIT=f"{ADDRESS_LIMIT}/minute",
    ) as server:
        yield server.base_url


@pytest.fixture
async def limited(limited_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=limited_url, timeout=30) as client:
        yield client


async def _stored_texts(database_url: str) -> list[str]:
    return [r["text"] for r in await rows(database_url, "SELECT text FROM messages ORDER BY id")]


async def _team(client: httpx.AsyncClient) -> tuple[TestUser, TestUser, int]:
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    chat_id: int = (await group(client, alice, [bob]))["chat_id"]
    return alice, bob, chat_id


async def _post(client: httpx.AsyncClient, user: TestUser, chat_id: int, text: str, key: str):
    return await client.post(
        f"/chats/{chat_id}/messages",
        json={"text": text, "client_msg_id": key},
        headers=user.headers,
    )


async def test_rest_send_over_the_limit_is_429_and_stores_nothing(limited, database_url):
    alice, _, chat_id = await _team(limited)
    keys = [str(uuid.uuid4()) for _ in range(LIMIT + 1)]
    for i in range(LIMIT):
        assert (await _post(limited, alice, chat_id, f"m{i}", keys[i])).status_code == 201

    refused = await _post(limited, alice, chat_id, "one too many", keys[LIMIT])

    assert refused.status_code == 429
    assert refused.json()["detail"]
    assert await _stored_texts(database_url) == ["m0", "m1", "m2"]


async def test_a_retry_of_a_stored_message_is_answered_while_limited(limited, database_url):
    alice, _, chat_id = await _team(limited)
    keys = [str(uuid.uuid4()) for _ in range(LIMIT)]
    first = [await _post(limited, alice, chat_id, f"m{i}", keys[i]) for i in range(LIMIT)]
    assert [r.status_code for r in first] == [201] * LIMIT

    retry = await _post(limited, alice, chat_id, "m0", keys[0])

    assert retry.status_code == 200
    assert retry.json()["id"] == first[0].json()["id"]
    assert await _stored_texts(database_url) == ["m0", "m1", "m2"]


async def test_limits_are_per_user(limited, database_url):
    alice, bob, chat_id = await _team(limited)
    for i in range(LIMIT):
        assert (await _post(limited, alice, chat_id, f"a{i}", str(uuid.uuid4()))).status_code == 201
    assert (await _post(limited, alice, chat_id, "a!", str(uuid.uuid4()))).status_code == 429

    assert (await _post(limited, bob, chat_id, "b0", str(uuid.uuid4()))).status_code == 201


async def test_a_burst_of_parallel_sends_stores_no_more_than_the_limit(limited, database_url):
    alice, _, chat_id = await _team(limited)
    keys = [str(uuid.uuid4()) for _ in range(4 * LIMIT)]

    responses = await asyncio.gather(
        *(_post(limited, alice, chat_id, f"burst {i}", key) for i, key in enumerate(keys))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * LIMIT + [429] * (3 * LIMIT)
    assert len(await _stored_texts(database_url)) == LIMIT


async def test_a_non_member_over_the_limit_still_learns_nothing_about_the_chat(limited):
    _, _, chat_id = await _team(limited)
    mallory = await register(limited, "Mallory")
    for _ in range(LIMIT + 2):
        response = await _post(limited, mallory, chat_id, "let me in", str(uuid.uuid4()))
        assert response.status_code == 404


async def test_socket_send_over_the_limit_gets_a_rate_limited_ack(
    limited, limited_url, database_url
):
    alice, bob, chat_id = await _team(limited)
    alice_tab = await connected(limited_url, alice.token)
    bob_tab = await connected(limited_url, bob.token)
    try:
        payloads = [
            {"chat_id": chat_id, "text": f"s{i}", "client_msg_id": str(uuid.uuid4())}
            for i in range(LIMIT + 1)
        ]
        acks = [await alice_tab.call("send_message", p) for p in payloads]

        assert [a["ok"] for a in acks] == [True] * LIMIT + [False]
        assert acks[-1]["error"]["code"] == "rate_limited"
        retry = await alice_tab.call("send_message", payloads[0])
        assert retry["ok"] is True and retry["duplicate"] is True
        await bob_tab.wait_for("message", lambda got: len(got) >= LIMIT)
        await asyncio.sleep(0.3)  # a refused send must not arrive late
        assert [m["text"] for m in bob_tab.received["message"]] == ["s0", "s1", "s2"]
        assert await _stored_texts(database_url) == ["s0", "s1", "s2"]
    finally:
        await alice_tab.disconnect()
        await bob_tab.disconnect()


async def test_login_attempts_over_the_limit_are_429_even_with_the_right_password(limited):
    alice = await register(limited, "Alice")  # register logs in once
    statuses = [
        (
            await limited.post("/auth/login", json={"email": alice.email, "password": "wrong!"})
        ).status_code
        for _ in range(LIMIT - 1)
    ]
    assert statuses == [401] * (LIMIT - 1)

    response = await limited.post("/auth/login", json={"email": alice.email, "password": PASSWORD})

    assert response.status_code == 429


async def test_registrations_from_one_address_over_the_limit_are_429(limited, database_url):
    def account(i: int) -> dict[str, str]:
        return {"name": f"U{i}", "email": f"u{i}@example.com", "password": PASSWORD}

    for i in range(ADDRESS_LIMIT):
        assert (await limited.post("/auth/register", json=account(i))).status_code == 201

    refused = await limited.post("/auth/register", json=account(ADDRESS_LIMIT))

    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert await value(database_url, "SELECT count(*) FROM users") == ADDRESS_LIMIT


async def test_logins_to_many_accounts_from_one_address_are_limited(limited):
    def attempt(i: int) -> dict[str, str]:
        return {"email": f"nobody{i}@example.com", "password": "guess"}

    for i in range(ADDRESS_LIMIT):
        assert (await limited.post("/auth/login", json=attempt(i))).status_code == 401

    assert (await limited.post("/auth/login", json=attempt(ADDRESS_LIMIT))).status_code == 429
    # The form route shares the count.
    form = {"username": "someone@example.com", "password": "guess"}
    assert (await limited.post("/auth/token", data=form)).status_code == 429

"""Two server processes sharing PostgreSQL and Redis act as one."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import TestUser, group, private_chat, register
from tests.support.db import rows, value
from tests.support.servers import (
    LiveServer,
    free_port,
    server_process,
)
from tests.support.sockets import connected
from tests.support.tools import REDIS_URL, require_redis


@pytest.fixture(scope="module")
def two_servers(database_url: str, data_dir: Path) -> Iterator[tuple[str, str]]:
    require_redis("the multi-process test")
    # A channel of our own, so parallel runs on one Redis never hear each other.
    with _processes(
        database_url, data_dir, REDIS_NAMESPACE="chat_test_" + uuid.uuid4().hex[:8]
    ) as (
        a,
        b,
    ):
        yield a.base_url, b.base_url


@contextmanager
def _processes(database_url: str, data_dir: Path, **env: str) -> Iterator[list[LiveServer]]:
    """Two server processes on one Redis; each accepts pages of both."""
    ports = [free_port(), free_port()]
    origins = ",".join(f"http://127.0.0.1:{port}" for port in ports)
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                server_process(
                    database_url,
                    data_dir,
                    port=port,
                    REDIS_URL=REDIS_URL,
                    CORS_ORIGINS=origins,
                    **env,
                )
            )
            for port in ports
        ]


@pytest.fixture
async def http_a(two_servers) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=two_servers[0], timeout=30) as client:
        yield client


async def test_message_sent_on_a_reaches_a_socket_on_b(two_servers, http_a):
    url_a, url_b = two_servers
    alice, bob = await register(http_a, "Alice"), await register(http_a, "Bob")
    chat_id = await private_chat(http_a, alice, bob)
    alice_on_a = await connected(url_a, alice.token)
    bob_on_b = await connected(url_b, bob.token)
    try:
        ack = await alice_on_a.call(
            "send_message",
            {"chat_id": chat_id, "text": "across", "client_msg_id": str(uuid.uuid4())},
        )
        assert (await bob_on_b.wait_for("message")) == [ack["message"]]
        # A read on B notifies the sender on A.
        await bob_on_b.call("read", {"chat_id": chat_id, "seq": ack["message"]["seq"]})
        notes = await alice_on_a.wait_for("messages_read")
        assert notes == [
            {"chat_id": chat_id, "message_ids": [ack["message"]["id"]], "up_to_seq": 1}
        ]
    finally:
        await alice_on_a.disconnect()
        await bob_on_b.disconnect()


async def test_member_added_through_a_receives_on_b_without_reconnecting(two_servers, http_a):
    _url_a, url_b = two_servers
    alice, bob, dave = [await register(http_a, n) for n in ("Alice", "Bob", "Dave")]
    team = await group(http_a, alice, [bob])
    dave_on_b = await connected(url_b, dave.token)
    try:
        added = await http_a.post(
            f"/groups/{team['id']}/members", json={"user_id": dave.id}, headers=alice.headers
        )
        assert added.status_code == 201
        assert (await dave_on_b.wait_for("chat_joined"))[0]["id"] == team["chat_id"]
        sent = await http_a.post(
            f"/chats/{team['chat_id']}/messages", json={"text": "hi dave"}, headers=alice.headers
        )
        assert (await dave_on_b.wait_for("message"))[0]["id"] == sent.json()["id"]
    finally:
        await dave_on_b.disconnect()


async def test_same_client_id_on_both_processes_at_once_is_stored_once(
    two_servers, http_a, database_url
):
    """No in-process lock can help here: only the UNIQUE constraint makes this hold."""
    url_a, url_b = two_servers
    alice, bob = await register(http_a, "Alice"), await register(http_a, "Bob")
    chat_id = await private_chat(http_a, alice, bob)
    tabs = [await connected(url, alice.token) for url in (url_a, url_b) for _ in range(3)]
    bob_on_b = await connected(url_b, bob.token)
    try:
        for round_no in range(10):
            payload = {
                "chat_id": chat_id,
                "text": f"r{round_no}",
                "client_msg_id": str(uuid.uuid4()),
            }
            acks = await asyncio.gather(
                *(t.call("send_message", payload) for t in tabs for _ in range(5))
            )
            assert len({a["message"]["id"] for a in acks}) == 1
            assert sum(not a["duplicate"] for a in acks) == 1
        seqs = [r["seq"] for r in await rows(database_url, "SELECT seq FROM messages ORDER BY seq")]
        assert seqs == list(range(1, 11))
        got = await bob_on_b.wait_for("message", lambda items: len(items) >= 10)
        await asyncio.sleep(0.3)
        assert sorted(m["seq"] for m in got) == list(range(1, 11))
    finally:
        for tab in (*tabs, bob_on_b):
            await tab.disconnect()


def went(items: list[dict[str, Any]], user: TestUser, online: bool) -> bool:
    """The user's latest presence event says `online`."""
    theirs = [i for i in items if i["user_id"] == user.id]
    return bool(theirs) and theirs[-1]["online"] is online


async def test_users_of_a_process_that_was_killed_are_announced_offline(
    database_url: str, data_dir: Path
) -> None:
    require_redis("the multi-process test")
    with _processes(
        database_url,
        data_dir,
        REDIS_NAMESPACE="chat_test_" + uuid.uuid4().hex[:8],
        PRESENCE_TTL_SECONDS="1",
    ) as (survivor, doomed):
        urls = [survivor.base_url, doomed.base_url]
        async with httpx.AsyncClient(base_url=urls[0], timeout=30) as http:
            alice, bob = await register(http, "Alice"), await register(http, "Bob")
            await private_chat(http, alice, bob)
            bob_on_survivor = await connected(urls[0], bob.token)
            # His connect snapshot (sent past Redis, straight to his socket): Alice is
            # offline, never seen.
            [snapshot] = await bob_on_survivor.wait_for("presence")
            assert snapshot == {"user_id": alice.id, "online": False, "last_seen": None}
            alice_on_doomed = await connected(urls[1], alice.token)
            try:
                await bob_on_survivor.wait_for("presence", lambda items: went(items, alice, True))
                killed_at = datetime.now(UTC)
                doomed.process.kill()  # no disconnects, no goodbyes: its sockets just stop
                doomed.process.wait()

                offline = await bob_on_survivor.wait_for(
                    "presence", lambda items: went(items, alice, False)
                )
                note = [i for i in offline if i["user_id"] == alice.id][-1]
                # last_seen is when the dead process last vouched for her, and is stored.
                last_seen = datetime.fromisoformat(note["last_seen"])
                assert killed_at - timedelta(seconds=2) < last_seen <= killed_at
                stored = await value(
                    database_url, "SELECT last_seen_at FROM users WHERE id = $1", alice.id
                )
                assert stored == last_seen
            finally:
                await bob_on_survivor.disconnect()
                await alice_on_doomed.disconnect()

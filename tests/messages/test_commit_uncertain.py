"""A send whose COMMIT reply is lost: PostgreSQL stored the batch, the server cannot know.
The server runs in this process on a database reached through a TCP relay that drops
the connection right after PostgreSQL answers the COMMIT."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from chat_server.config import Settings
from chat_server.db import make_engine
from chat_server.messages.outcomes import Send, Stored
from chat_server.messages.store import store_sends, store_sends_in_free_chats
from chat_server.presence.store import LocalPresence
from tests.support.api import TestUser, private_chat, register
from tests.support.db import plain_dsn, rows
from tests.support.servers import free_port, serving
from tests.support.sockets import RecordingClient, connected
from tests.support.tcp_relay import TcpRelay


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[TcpRelay]:
    url = make_url(database_url)
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):  # embedded PostgreSQL
        socket = f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
        relay = TcpRelay(port=free_port(), target_socket=socket)
    else:
        relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432, free_port())
    await relay.restore()
    yield relay
    await relay.cut()


def _through(relay: TcpRelay, database_url: str) -> str:
    url = make_url(database_url).difference_update_query(["host"])
    return url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)


@dataclass
class Scene:
    """The server on the relayed database; Alice (with `tabs` sockets) and Bob share a
    private chat, and Bob's socket records what he receives."""

    url: str
    chat_id: int
    alice: TestUser
    alice_tabs: list[RecordingClient]
    bob_tab: RecordingClient


@asynccontextmanager
async def scene(
    settings: Settings, database_url: str, relay: TcpRelay, tabs: int = 1
) -> AsyncIterator[Scene]:
    async with serving(settings, _through(relay, database_url), LocalPresence()) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            alice, bob = await register(http, "Alice"), await register(http, "Bob")
            chat_id = await private_chat(http, alice, bob)
        sockets = [await connected(url, alice.token) for _ in range(tabs)]
        sockets.append(await connected(url, bob.token))
        try:
            yield Scene(url, chat_id, alice, sockets[:-1], sockets[-1])
        finally:
            for socket in sockets:
                await socket.disconnect()


async def _rows(database_url: str) -> list[str]:
    return [r["text"] for r in await rows(database_url, "SELECT text FROM messages ORDER BY seq")]


async def test_a_send_whose_commit_reply_is_lost_is_acked_and_delivered_once(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    async with scene(settings, database_url, relay) as it:
        alice_tab, bob_tab, chat_id = it.alice_tabs[0], it.bob_tab, it.chat_id
        # Nothing else commits meanwhile: sockets need no session to send.
        relay.lose_reply_to_next(b"COMMIT")
        ack = await alice_tab.call(
            "send_message",
            {"chat_id": chat_id, "text": "did it land?", "client_msg_id": str(uuid.uuid4())},
        )
        assert relay.replies_lost == 1

        assert ack["ok"] is True and ack["duplicate"] is False
        [delivered] = await bob_tab.wait_for("message")
        assert delivered["id"] == ack["message"]["id"]
        # Exactly once, although the server only learnt afterwards that it was stored.
        again = await alice_tab.call(
            "send_message",
            {"chat_id": chat_id, "text": "next", "client_msg_id": str(uuid.uuid4())},
        )
        await bob_tab.wait_for("message", lambda got: len(got) == 2)
        assert [m["text"] for m in bob_tab.received["message"]] == ["did it land?", "next"]
        assert again["message"]["seq"] == 2
        assert await _rows(database_url) == ["did it land?", "next"]


async def test_after_a_lost_commit_reply_old_repeats_stay_duplicates_and_new_ids_go_out_once(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    async with scene(settings, database_url, relay, tabs=3) as it:
        tabs, bob_tab, chat_id = it.alice_tabs, it.bob_tab, it.chat_id
        old = {"chat_id": chat_id, "text": "old", "client_msg_id": str(uuid.uuid4())}
        first = await tabs[0].call("send_message", old)
        await bob_tab.wait_for("message")

        relay.lose_reply_to_next(b"COMMIT")
        new = {"chat_id": chat_id, "text": "new", "client_msg_id": str(uuid.uuid4())}
        repeat, *twice = await asyncio.gather(
            tabs[0].call("send_message", old),
            tabs[1].call("send_message", new),
            tabs[2].call("send_message", new),
        )
        assert relay.replies_lost == 1

        assert repeat["duplicate"] is True
        assert repeat["message"]["id"] == first["message"]["id"]
        assert twice[0]["message"]["id"] == twice[1]["message"]["id"]
        assert sorted(ack["duplicate"] for ack in twice) == [False, True]
        await bob_tab.wait_for("message", lambda got: len(got) >= 2)
        await asyncio.sleep(0.3)  # a second copy would have arrived by now
        assert [m["text"] for m in bob_tab.received["message"]] == ["old", "new"]
        assert await _rows(database_url) == ["old", "new"]


async def test_a_send_whose_commit_never_arrived_is_stored_again_and_delivered_once(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    """The other side of the uncertainty: PostgreSQL never saw the COMMIT and undid the
    batch. The retry stores the message anew, under the seq the undone batch had taken."""
    async with scene(settings, database_url, relay) as it:
        relay.lose_next(b"COMMIT")
        ack = await it.alice_tabs[0].call(
            "send_message",
            {"chat_id": it.chat_id, "text": "second try", "client_msg_id": str(uuid.uuid4())},
        )
        assert relay.requests_lost == 1

        assert ack["ok"] is True and ack["duplicate"] is False
        assert ack["message"]["seq"] == 1
        [delivered] = await it.bob_tab.wait_for("message")
        assert delivered["id"] == ack["message"]["id"]
        await asyncio.sleep(0.3)  # a second copy would have arrived by now
        assert len(it.bob_tab.received["message"]) == 1
        assert await _rows(database_url) == ["second try"]


async def test_a_read_whose_commit_reply_is_lost_still_tells_the_sender_once(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    async with scene(settings, database_url, relay) as it:
        alice_tab = it.alice_tabs[0]
        sent = await alice_tab.call(
            "send_message",
            {"chat_id": it.chat_id, "text": "read me", "client_msg_id": str(uuid.uuid4())},
        )
        await it.bob_tab.wait_for("message")
        relay.lose_reply_to_next(b"COMMIT")
        ack = await it.bob_tab.call("read", {"chat_id": it.chat_id, "seq": 1})
        assert relay.replies_lost == 1

        assert ack == {"ok": True, "last_read_seq": 1}
        [note] = await alice_tab.wait_for("messages_read")
        assert note == {
            "chat_id": it.chat_id,
            "message_ids": [sent["message"]["id"]],
            "up_to_seq": 1,
        }
        [receipt] = await alice_tab.wait_for("read_receipt")
        assert receipt["last_read_seq"] == 1
        await asyncio.sleep(0.3)  # a second copy would have arrived by now
        assert len(alice_tab.received["messages_read"]) == 1
        assert len(alice_tab.received["read_receipt"]) == 1


async def _send(tab: RecordingClient, chat_id: int, text: str) -> dict[str, Any]:
    payload = {"chat_id": chat_id, "text": text, "client_msg_id": str(uuid.uuid4())}
    ack: dict[str, Any] = await tab.call("send_message", payload)
    return ack


async def _new_and_delivered_once(it: Scene, ack: dict[str, Any], database_url: str) -> None:
    """The send was answered as new, Bob got it exactly once, and it is the only row."""
    assert ack["ok"] is True and ack["duplicate"] is False
    [delivered] = await it.bob_tab.wait_for("message")
    assert delivered["id"] == ack["message"]["id"]
    await asyncio.sleep(0.3)  # a second copy would have arrived by now
    assert len(it.bob_tab.received["message"]) == 1
    assert await _rows(database_url) == [ack["message"]["text"]]


async def test_a_send_is_stored_once_when_the_lookup_after_its_lost_commit_loses_one_too(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    async with scene(settings, database_url, relay) as it:
        # The batch's, and that of the lookup asking how the batch ended (asked again).
        relay.lose_next(b"COMMIT", times=2)
        ack = await _send(it.alice_tabs[0], it.chat_id, "third time lucky")
        assert relay.requests_lost == 2

        await _new_and_delivered_once(it, ack, database_url)


async def test_a_send_whose_commit_replies_are_lost_twice_is_still_announced_once(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    async with scene(settings, database_url, relay) as it:
        # The batch's, and that of the lookup asking how the batch ended (asked again).
        relay.lose_reply_to_next(b"COMMIT", times=2)
        ack = await _send(it.alice_tabs[0], it.chat_id, "stored the first time")
        assert relay.replies_lost == 2

        await _new_and_delivered_once(it, ack, database_url)


async def test_a_stored_send_is_announced_even_if_its_sender_is_removed_before_the_lookup(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    async with scene(settings, database_url, relay) as it:
        # Stands for a removal from a group: the member row goes, under the chat lock.
        async def remove_the_sender() -> None:
            conn = await asyncpg.connect(plain_dsn(database_url))
            try:
                async with conn.transaction():
                    await conn.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", it.chat_id)
                    await conn.execute(
                        "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2",
                        it.chat_id,
                        it.alice.id,
                    )
            finally:
                await conn.close()

        relay.lose_reply_to_next(b"COMMIT", then=remove_the_sender)
        ack = await _send(it.alice_tabs[0], it.chat_id, "sent while still a member")
        assert relay.replies_lost == 1

        await _new_and_delivered_once(it, ack, database_url)


async def test_after_a_lost_commit_the_same_id_used_in_another_chat_meanwhile_is_not_ours(
    settings: Settings, database_url: str, relay: TcpRelay
) -> None:
    """The batch was undone; before it ran again, the sender used the same client id in
    another chat. That message is not the batch's: the retry is a conflict, and nothing
    of the other chat is shown in this one."""
    async with (
        scene(settings, database_url, relay) as it,
        httpx.AsyncClient(base_url=it.url) as http,
    ):
        carol = await register(http, "Carol")
        other_chat = await private_chat(http, it.alice, carol)
        key = str(uuid.uuid4())

        async def same_id_elsewhere() -> None:
            sent = await http.post(
                f"/chats/{other_chat}/messages",
                json={"text": "for Carol", "client_msg_id": key},
                headers=it.alice.headers,
            )
            assert sent.status_code == 201, sent.text

        relay.lose_next(b"COMMIT", then=same_id_elsewhere)
        ack = await it.alice_tabs[0].call(
            "send_message", {"chat_id": it.chat_id, "text": "for Bob", "client_msg_id": key}
        )
        assert relay.requests_lost == 1

        assert ack["ok"] is False, ack
        assert ack["error"]["code"] == "idempotency_conflict"
        await asyncio.sleep(0.3)  # nothing may reach Bob
        assert it.bob_tab.received["message"] == []
        assert await _rows(database_url) == ["for Carol"]


def _lose_next_commit(relay: TcpRelay, lost: str) -> None:
    """The next COMMIT's reply is lost (it committed) or the COMMIT itself (it did not)."""
    if lost == "reply":
        relay.lose_reply_to_next(b"COMMIT")
    else:
        relay.lose_next(b"COMMIT")


def _commits_lost(relay: TcpRelay, lost: str) -> int:
    return relay.replies_lost if lost == "reply" else relay.requests_lost


@pytest.mark.parametrize("lost", ["reply", "request"])
async def test_a_lost_commit_of_a_transaction_over_several_chats_is_settled_for_all(
    client: httpx.AsyncClient, database_url: str, relay: TcpRelay, lost: str
) -> None:
    """The store lane's transaction over three chats: its COMMIT's reply is lost (it
    committed: every chat's send is answered as new, once) or its COMMIT never arrives
    (undone: run again, and again every send is new, stored once)."""
    bob = await register(client, "Bob")
    others = [await register(client, name) for name in ("Alice", "Carol", "Dave")]
    chat_ids = [await private_chat(client, bob, other) for other in others]
    engine = make_engine(_through(relay, database_url), pool_size=2)
    _lose_next_commit(relay, lost)
    try:
        answers = await store_sends_in_free_chats(
            engine,
            [(chat_id, [Send(bob.id, f"to {chat_id}", uuid.uuid4())]) for chat_id in chat_ids],
        )
    finally:
        await engine.dispose()

    assert _commits_lost(relay, lost) == 1
    for chat_id, answer in zip(chat_ids, answers, strict=True):
        assert answer is not None
        [outcome] = answer
        assert isinstance(outcome, Stored) and outcome.message.chat_id == chat_id
        assert outcome.message.seq == 1
    stored = await rows(database_url, "SELECT chat_id FROM messages ORDER BY chat_id")
    assert [r["chat_id"] for r in stored] == sorted(chat_ids)


@pytest.mark.parametrize("lost", ["reply", "request"])
async def test_a_lost_commit_of_a_chat_stored_on_its_own_is_settled(
    client: httpx.AsyncClient, database_url: str, relay: TcpRelay, lost: str
) -> None:
    """A chat's run stored on its own (its row was busy for the shared transaction):
    the call that waits for the row takes the lock in its first step, and its rows carry
    the transaction's id, so a lost COMMIT is settled as the shared one's is."""
    bob, alice = await register(client, "Bob"), await register(client, "Alice")
    chat_id = await private_chat(client, bob, alice)
    engine = make_engine(_through(relay, database_url), pool_size=2)
    _lose_next_commit(relay, lost)
    try:
        sends = [Send(bob.id, "first", uuid.uuid4()), Send(alice.id, "second", uuid.uuid4())]
        outcomes = await store_sends(engine, chat_id=chat_id, sends=sends)
    finally:
        await engine.dispose()

    assert _commits_lost(relay, lost) == 1
    assert [o.message.seq for o in outcomes if isinstance(o, Stored)] == [1, 2]
    stored = await rows(database_url, "SELECT text FROM messages ORDER BY seq")
    assert [r["text"] for r in stored] == ["first", "second"]

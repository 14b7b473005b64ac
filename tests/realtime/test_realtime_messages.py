"""Socket.IO messaging against a real uvicorn: connect, send, exactly once, order."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import socketio
from jose import jwt

from tests.support.api import group, private_chat, send
from tests.support.db import rows
from tests.support.servers import TEST_JWT_SECRET
from tests.support.sockets import RecordingClient, connected


def _payload(chat_id: int, text: str = "hi", client_msg_id: str | None = None) -> dict:
    return {"chat_id": chat_id, "text": text, "client_msg_id": client_msg_id or str(uuid.uuid4())}


def _token(sub: str, minutes: int, secret: str = TEST_JWT_SECRET) -> str:
    exp = datetime.now(UTC) + timedelta(minutes=minutes)
    return jwt.encode({"sub": sub, "exp": exp}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        _token("1", minutes=-5),
        _token("1", minutes=5, secret="another-secret"),
        _token("999999", minutes=5),
    ],
    ids=["missing", "empty", "malformed", "expired", "forged", "unknown-user"],
)
async def test_connect_without_a_valid_token_is_refused(live_server, token):
    client = RecordingClient()
    with pytest.raises(socketio.exceptions.ConnectionError) as refused:
        await client.connect(live_server.base_url, token)
    assert refused.value is not None
    assert client.received["connect_error"] == [{"message": "unauthorized"}]
    assert not client.sio.connected


async def test_message_reaches_every_socket_of_every_member_once(http, users, connect):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    chat_id = await private_chat(http, alice, bob)
    alice_tab1, alice_tab2, bob_tab, carol_tab = [
        await connect(u) for u in (alice, alice, bob, carol)
    ]
    ack = await alice_tab1.call("send_message", _payload(chat_id, "hello bob"))
    assert ack["ok"] is True and ack["duplicate"] is False
    assert ack["message"]["text"] == "hello bob" and ack["message"]["seq"] == 1
    for tab in (alice_tab1, alice_tab2, bob_tab):
        got = await tab.wait_for("message")
        assert [m["id"] for m in got] == [ack["message"]["id"]]
    await asyncio.sleep(0.3)
    assert carol_tab.received["message"] == []
    assert all(len(tab.received["message"]) == 1 for tab in (alice_tab1, alice_tab2, bob_tab))


async def test_rest_sends_are_delivered_to_sockets_too(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    bob_tab = await connect(bob)
    sent = await send(http, alice, chat_id, "over http")
    got = await bob_tab.wait_for("message")
    assert got == [sent]


async def test_parallel_sends_of_one_id_from_sockets_and_rest_store_one_message(
    http, users, connect, database_url
):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    alice_tabs = [await connect(alice) for _ in range(5)]
    bob_tab = await connect(bob)
    key = str(uuid.uuid4())
    payload = _payload(chat_id, "only once", key)

    socket_calls = [
        tab.call("send_message", payload, within=30) for tab in alice_tabs for _ in range(20)
    ]
    rest_calls = [
        http.post(
            f"/chats/{chat_id}/messages",
            json={"text": "only once"},
            headers={**alice.headers, "Idempotency-Key": key},
        )
        for _ in range(10)
    ]
    results = await asyncio.gather(*socket_calls, *rest_calls)
    acks, responses = results[:100], results[100:]

    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]][:3]
    message_ids = {a["message"]["id"] for a in acks} | {r.json()["id"] for r in responses}
    assert len(message_ids) == 1
    firsts = [a for a in acks if not a["duplicate"]] + [
        r for r in responses if r.status_code == 201
    ]
    assert len(firsts) == 1
    stored = await rows(database_url, "SELECT id FROM messages")
    assert len(stored) == 1

    for tab in (*alice_tabs, bob_tab):
        await tab.wait_for("message")
    await asyncio.sleep(0.5)
    assert [len(tab.received["message"]) for tab in (*alice_tabs, bob_tab)] == [1] * 6


async def test_back_to_back_emits_from_one_socket_keep_their_order(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    tab = await connect(alice)
    acks = await asyncio.gather(
        *(tab.call("send_message", _payload(chat_id, f"#{i}")) for i in range(50))
    )
    assert [a["message"]["text"] for a in sorted(acks, key=lambda a: a["message"]["seq"])] == [
        f"#{i}" for i in range(50)
    ]


async def test_500_messages_from_10_members_arrive_everywhere_once_in_seq_order(
    http, users, connect, database_url
):
    members = await users(*(f"M{i}" for i in range(10)))
    chat_id = (await group(http, members[0], members[1:]))["chat_id"]
    tabs = [await connect(m) for m in members]

    async def burst(tab: RecordingClient, who: int) -> list[dict]:
        return await asyncio.gather(
            *(
                tab.call("send_message", _payload(chat_id, f"{who}:{i}"), within=60)
                for i in range(50)
            )
        )

    acks = [
        a
        for batch in await asyncio.gather(*(burst(t, i) for i, t in enumerate(tabs)))
        for a in batch
    ]
    assert all(a["ok"] for a in acks)
    assert sorted(a["message"]["seq"] for a in acks) == list(range(1, 501))
    stored = await rows(database_url, "SELECT seq FROM messages ORDER BY seq")
    assert [r["seq"] for r in stored] == list(range(1, 501))
    for tab in tabs:
        got = await tab.wait_for("message", lambda items: len(items) >= 500, within=30)
        assert [m["seq"] for m in got] == list(range(1, 501))
    await asyncio.sleep(0.3)
    assert all(len(tab.received["message"]) == 500 for tab in tabs)


async def test_sync_returns_exactly_what_was_missed(http, users, connect, live_server):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    alice_tab = await connect(alice)
    bob_tab = await connect(bob)
    first = await alice_tab.call("send_message", _payload(chat_id, "before"))
    await bob_tab.wait_for("message")
    last_seen_seq = bob_tab.received["message"][-1]["seq"]
    await bob_tab.disconnect()

    missed = [
        (await alice_tab.call("send_message", _payload(chat_id, f"missed {i}")))["message"]
        for i in range(20)
    ]

    bob_again = await connect(bob)
    ack = await bob_again.call(
        "sync", {"chat_id": chat_id, "after_seq": last_seen_seq, "limit": 100}
    )
    assert ack["ok"] is True
    assert ack["messages"] == missed
    history = await http.get(
        f"/history/{chat_id}", params={"after_seq": last_seen_seq}, headers=bob.headers
    )
    assert history.json() == missed
    assert first["message"]["seq"] == last_seen_seq


async def test_send_over_socket_reaches_the_other_user(http, users, live_server):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    a = await connected(live_server.base_url, alice.token)
    b = await connected(live_server.base_url, bob.token)
    try:
        ack = await a.call(
            "send_message", {"chat_id": chat_id, "text": "hi", "client_msg_id": str(uuid.uuid4())}
        )
        assert ack["ok"] is True, ack
        got = await b.wait_for("message")
        assert got[0]["text"] == "hi"
    finally:
        await a.disconnect()
        await b.disconnect()

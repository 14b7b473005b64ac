"""Bad input on a socket: an error ack, nothing stored, nobody disconnected."""

import asyncio
import uuid

import pytest
import socketio

from tests.support.api import private_chat
from tests.support.db import value

GOOD_ID = "6f1c2b9e-54b1-4a57-9a53-1d1a0d0f3b11"


async def _message_count(database_url: str) -> int:
    return int(await value(database_url, "SELECT count(*) FROM messages"))


BAD_SENDS = {
    "null": None,
    "list": [1, 2],
    "string": "hello",
    "number": 7,
    "empty": {},
    "missing text": {"chat_id": "CHAT", "client_msg_id": GOOD_ID},
    "missing client_msg_id": {"chat_id": "CHAT", "text": "hi"},
    "missing chat_id": {"text": "hi", "client_msg_id": GOOD_ID},
    "chat_id as string": {"chat_id": "1", "text": "hi", "client_msg_id": GOOD_ID},
    "chat_id float": {"chat_id": 1.5, "text": "hi", "client_msg_id": GOOD_ID},
    "chat_id huge": {"chat_id": 2**70, "text": "hi", "client_msg_id": GOOD_ID},
    # Over 100 digits: python-socketio's own codec would drop the packet unanswered.
    "chat_id of 101 digits": {"chat_id": 10**100, "text": "hi", "client_msg_id": GOOD_ID},
    "chat_id of -151 digits": {"chat_id": -(10**150), "text": "hi", "client_msg_id": GOOD_ID},
    "text a 200-digit number": {"chat_id": "CHAT", "text": 10**199, "client_msg_id": GOOD_ID},
    "id a 300-digit number": {"chat_id": "CHAT", "text": "hi", "client_msg_id": 10**299},
    "text not a string": {"chat_id": "CHAT", "text": ["hi"], "client_msg_id": GOOD_ID},
    "blank text": {"chat_id": "CHAT", "text": "   ", "client_msg_id": GOOD_ID},
    "empty text": {"chat_id": "CHAT", "text": "", "client_msg_id": GOOD_ID},
    "text over 4096": {"chat_id": "CHAT", "text": "x" * 4097, "client_msg_id": GOOD_ID},
    "non-uuid id": {"chat_id": "CHAT", "text": "hi", "client_msg_id": "abc"},
    "extra field": {"chat_id": "CHAT", "text": "hi", "client_msg_id": GOOD_ID, "x": 1},
    # PostgreSQL cannot store these; JSON's \u0000 and \ud800 decode to them.
    "NUL in text": {"chat_id": "CHAT", "text": "a\x00b", "client_msg_id": GOOD_ID},
    "lone surrogate": {"chat_id": "CHAT", "text": "a\ud800b", "client_msg_id": GOOD_ID},
}


@pytest.mark.parametrize("name", list(BAD_SENDS))
async def test_bad_send_payload_gets_validation_error(name, http, users, connect, database_url):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    tab = await connect(alice)
    payload = BAD_SENDS[name]
    if isinstance(payload, dict):
        payload = {k: (chat_id if v == "CHAT" else v) for k, v in payload.items()}
    ack = await tab.call("send_message", payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "validation_error"
    assert ack["error"]["message"]
    assert await _message_count(database_url) == 0
    assert tab.sio.connected
    good = await tab.call(
        "send_message",
        {"chat_id": chat_id, "text": "still here", "client_msg_id": str(uuid.uuid4())},
    )
    assert good["ok"] is True


async def test_unknown_chat_and_non_member_get_the_same_not_found(
    http, users, connect, database_url
):
    alice, bob, mallory = await users("Alice", "Bob", "Mallory")
    chat_id = await private_chat(http, alice, bob)
    tab = await connect(mallory)
    for target in (chat_id, 999_999):
        for event, payload in (
            ("send_message", {"chat_id": target, "text": "hi", "client_msg_id": str(uuid.uuid4())}),
            ("read", {"chat_id": target, "seq": 1}),
            ("typing", {"chat_id": target}),
            ("sync", {"chat_id": target, "after_seq": 0, "limit": 10}),
        ):
            ack = await tab.call(event, payload)
            assert ack == {"ok": False, "error": {"code": "not_found", "message": "chat not found"}}
    assert await _message_count(database_url) == 0


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("read", {"chat_id": "CHAT"}),
        ("read", {"chat_id": "CHAT", "seq": -1}),
        ("read", {"chat_id": "CHAT", "seq": "2"}),
        ("read", None),
        ("typing", {}),
        ("typing", "CHAT"),
        ("sync", {"chat_id": "CHAT", "limit": 0}),
        ("sync", {"chat_id": "CHAT", "limit": 201}),
        ("sync", {"chat_id": "CHAT", "after_seq": -5}),
        ("read", {"chat_id": "CHAT", "seq": 10**100}),
        ("typing", {"chat_id": 10**1000}),
        ("sync", {"chat_id": "CHAT", "after_seq": 0, "limit": 10**101}),
    ],
)
async def test_bad_read_typing_and_sync_payloads(event, payload, http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    tab = await connect(alice)
    if isinstance(payload, dict):
        payload = {k: (chat_id if v == "CHAT" else v) for k, v in payload.items()}
    ack = await tab.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    assert tab.sio.connected


async def test_idempotency_conflict_over_socket(http, users, connect, database_url):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    tab = await connect(alice)
    key = str(uuid.uuid4())
    assert (
        await tab.call("send_message", {"chat_id": chat_id, "text": "a", "client_msg_id": key})
    )["ok"]
    ack = await tab.call("send_message", {"chat_id": chat_id, "text": "b", "client_msg_id": key})
    assert ack["ok"] is False and ack["error"]["code"] == "idempotency_conflict"
    assert await _message_count(database_url) == 1


async def test_unknown_events_and_floods_of_garbage_break_nothing(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    alice_tab, bob_tab = await connect(alice), await connect(bob)
    await alice_tab.sio.emit("no_such_event", {"x": 1})
    await alice_tab.sio.emit("send_message", "garbage without ack")
    await alice_tab.sio.emit("send_message")
    garbage = await asyncio.gather(*(alice_tab.call("read", [i]) for i in range(20)))
    assert all(a["error"]["code"] == "validation_error" for a in garbage)
    ok = await bob_tab.call(
        "send_message", {"chat_id": chat_id, "text": "fine", "client_msg_id": str(uuid.uuid4())}
    )
    assert ok["ok"] is True
    assert (await alice_tab.wait_for("message"))[0]["text"] == "fine"
    assert alice_tab.sio.connected and bob_tab.sio.connected


@pytest.mark.parametrize("event", ["disconnect", "connect"])
async def test_a_client_sending_a_lifecycle_event_gets_no_ack_and_changes_nothing(
    event, http, users, connect
):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    bob_tab = await connect(bob)
    alice_tab = await connect(alice)
    await bob_tab.wait_for("presence", lambda items: any(p["online"] for p in items))
    seen = len(bob_tab.received["presence"])
    # As a client would forge them: with what the server's handler would take as its
    # arguments, and asking for an ack.
    with pytest.raises(socketio.exceptions.TimeoutError):
        await alice_tab.sio.call(event, {"token": alice.token}, timeout=1)
    await asyncio.sleep(0.3)
    assert len(bob_tab.received["presence"]) == seen  # nobody heard Alice come or go
    assert alice_tab.sio.connected
    ack = await alice_tab.call(
        "send_message", {"chat_id": chat_id, "text": "still here", "client_msg_id": GOOD_ID}
    )
    assert ack["ok"] is True
    assert (await bob_tab.wait_for("message"))[0]["text"] == "still here"
    me = (await http.get(f"/chats/{chat_id}", headers=bob.headers)).json()
    alice_member = next(m for m in me["members"] if m["user_id"] == alice.id)
    assert alice_member["last_seen_at"] is None  # never recorded as gone

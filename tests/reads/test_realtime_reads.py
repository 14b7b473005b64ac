"""Read receipts and messages_read over Socket.IO."""

import asyncio
import uuid

from tests.support.api import group, private_chat


def _payload(chat_id: int, text: str) -> dict:
    return {"chat_id": chat_id, "text": text, "client_msg_id": str(uuid.uuid4())}


async def test_private_read_notifies_the_sender_once(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    alice_tab, bob_tab = await connect(alice), await connect(bob)
    sent = [
        (await alice_tab.call("send_message", _payload(chat_id, f"m{i}")))["message"]
        for i in range(3)
    ]
    ack = await bob_tab.call("read", {"chat_id": chat_id, "seq": 2})
    assert ack == {"ok": True, "last_read_seq": 2}
    notes = await alice_tab.wait_for("messages_read")
    assert notes == [
        {"chat_id": chat_id, "message_ids": [sent[0]["id"], sent[1]["id"]], "up_to_seq": 2}
    ]
    receipts = await alice_tab.wait_for("read_receipt")
    assert receipts == [{"chat_id": chat_id, "user_id": bob.id, "last_read_seq": 2}]
    # Backwards or repeated reads change nothing and notify nobody.
    assert (await bob_tab.call("read", {"chat_id": chat_id, "seq": 1}))["last_read_seq"] == 2
    assert (await bob_tab.call("read", {"chat_id": chat_id, "seq": 2}))["last_read_seq"] == 2
    await asyncio.sleep(0.3)
    assert len(alice_tab.received["messages_read"]) == 1
    assert bob_tab.received["messages_read"] == []


async def test_group_of_four_is_read_only_after_the_third_reader(http, users, connect):
    alice, bob, carol, dave = await users("Alice", "Bob", "Carol", "Dave")
    chat_id = (await group(http, alice, [bob, carol, dave]))["chat_id"]
    alice_tab = await connect(alice)
    readers = [await connect(u) for u in (bob, carol, dave)]
    message = (await alice_tab.call("send_message", _payload(chat_id, "team")))["message"]
    for reader in readers[:2]:
        await reader.call("read", {"chat_id": chat_id, "seq": message["seq"]})
    await alice_tab.wait_for("read_receipt", lambda items: len(items) == 2)
    await asyncio.sleep(0.2)
    assert alice_tab.received["messages_read"] == []
    await readers[2].call("read", {"chat_id": chat_id, "seq": message["seq"]})
    notes = await alice_tab.wait_for("messages_read")
    assert notes == [{"chat_id": chat_id, "message_ids": [message["id"]], "up_to_seq": 1}]
    await asyncio.sleep(0.2)
    assert len(alice_tab.received["messages_read"]) == 1


async def test_a_member_leaving_completes_the_read_and_notifies_the_sender(http, users, connect):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    team = await group(http, alice, [bob, carol])
    chat_id = team["chat_id"]
    alice_tab, bob_tab = await connect(alice), await connect(bob)
    message = (await alice_tab.call("send_message", _payload(chat_id, "x")))["message"]
    await bob_tab.call("read", {"chat_id": chat_id, "seq": message["seq"]})
    await asyncio.sleep(0.2)
    assert alice_tab.received["messages_read"] == []
    left = await http.delete(f"/groups/{team['id']}/members/{carol.id}", headers=carol.headers)
    assert left.status_code == 204
    notes = await alice_tab.wait_for("messages_read")
    assert notes == [{"chat_id": chat_id, "message_ids": [message["id"]], "up_to_seq": 1}]

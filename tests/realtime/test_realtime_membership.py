"""Live membership: added users receive at once, removed users stop receiving."""

import asyncio
import uuid

from tests.support.api import group, private_chat


def _payload(chat_id: int, text: str) -> dict:
    return {"chat_id": chat_id, "text": text, "client_msg_id": str(uuid.uuid4())}


async def test_added_member_receives_without_reconnecting(http, users, connect):
    alice, bob, dave = await users("Alice", "Bob", "Dave")
    team = await group(http, alice, [bob])
    chat_id = team["chat_id"]
    alice_tab, dave_tab1, dave_tab2 = await connect(alice), await connect(dave), await connect(dave)
    added = await http.post(
        f"/groups/{team['id']}/members", json={"user_id": dave.id}, headers=alice.headers
    )
    assert added.status_code == 201
    for tab in (dave_tab1, dave_tab2):
        joined = await tab.wait_for("chat_joined")
        assert joined[0]["id"] == chat_id
        assert dave.id in [m["user_id"] for m in joined[0]["members"]]
    assert await alice_tab.wait_for("member_added") == [{"chat_id": chat_id, "user_id": dave.id}]
    message = (await alice_tab.call("send_message", _payload(chat_id, "welcome")))["message"]
    for tab in (dave_tab1, dave_tab2):
        assert await tab.wait_for("message") == [message]


async def test_removed_member_stops_receiving_and_cannot_send(http, users, connect):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    team = await group(http, alice, [bob, carol])
    chat_id = team["chat_id"]
    alice_tab, carol_tab = await connect(alice), await connect(carol)
    removed = await http.delete(f"/groups/{team['id']}/members/{carol.id}", headers=alice.headers)
    assert removed.status_code == 204
    assert await carol_tab.wait_for("chat_left") == [{"chat_id": chat_id}]
    assert await alice_tab.wait_for("member_removed") == [{"chat_id": chat_id, "user_id": carol.id}]
    await alice_tab.call("send_message", _payload(chat_id, "after carol left"))
    refused = await carol_tab.call("send_message", _payload(chat_id, "let me in"))
    assert refused == {"ok": False, "error": {"code": "not_found", "message": "chat not found"}}
    await asyncio.sleep(0.3)
    assert carol_tab.received["message"] == []


async def test_new_private_chat_and_group_appear_live(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    alice_tab, bob_tab = await connect(alice), await connect(bob)
    chat_id = await private_chat(http, alice, bob)
    joined = await bob_tab.wait_for("chat_joined")
    assert joined[0]["id"] == chat_id
    assert joined[0]["name"] == "Alice"  # each side sees the chat named after the other
    assert (await alice_tab.wait_for("chat_joined"))[0]["name"] == "Bob"
    team = await group(http, alice, [bob])
    joined = await bob_tab.wait_for("chat_joined", lambda items: len(items) == 2)
    assert joined[1]["id"] == team["chat_id"]
    sent = await http.post(
        f"/chats/{team['chat_id']}/messages", json={"text": "hi"}, headers=alice.headers
    )
    assert (await bob_tab.wait_for("message"))[0]["id"] == sent.json()["id"]


async def test_deleted_group_leaves_every_member(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    team = await group(http, alice, [bob])
    bob_tab = await connect(bob)
    assert (await http.delete(f"/groups/{team['id']}", headers=alice.headers)).status_code == 204
    assert await bob_tab.wait_for("chat_left") == [{"chat_id": team["chat_id"]}]

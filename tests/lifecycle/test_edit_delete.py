"""Edit (sender only) and delete for everyone (sender, or a group's creator)."""

import asyncio
import uuid

from tests.support.api import delete_message, edit, group, private_chat, react, read, send
from tests.support.db import rows, value

QUIET = 0.3  # an event set off would have arrived by now


async def test_the_sender_edits_and_every_socket_hears_it_once(http, users, connect):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    chat_id = (await group(http, alice, [bob, carol]))["chat_id"]
    sent = await send(http, bob, chat_id, "Lunch at 12:30")
    tabs = [await connect(user) for user in (alice, bob, carol)]

    ack = await tabs[1].call(
        "edit_message", {"chat_id": chat_id, "seq": 1, "text": "Lunch at 13:00"}
    )
    assert ack["ok"] is True, ack
    edited = ack["message"]
    assert (edited["id"], edited["seq"], edited["text"]) == (sent["id"], 1, "Lunch at 13:00")
    assert edited["pts"] == sent["pts"] + 1
    assert edited["edited_at"] is not None and edited["deleted"] is False
    for tab in tabs:
        assert await tab.wait_for("message_updated") == [edited]

    # The same text again: ok, nothing changes, nothing is sent.
    same = await tabs[1].call(
        "edit_message", {"chat_id": chat_id, "seq": 1, "text": "Lunch at 13:00"}
    )
    assert same == ack
    over_rest = await edit(http, bob, chat_id, 1, "Lunch at 13:00")
    assert over_rest == edited
    await asyncio.sleep(QUIET)
    assert [len(tab.received["message_updated"]) for tab in tabs] == [1, 1, 1]
    assert await value_of_last_pts(http, bob, chat_id) == edited["pts"]


async def value_of_last_pts(http, user, chat_id: int) -> int:
    history = (await http.get(f"/history/{chat_id}", headers=user.headers)).json()
    return max(message["pts"] for message in history)


async def test_only_the_sender_may_edit_not_even_the_groups_creator(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = (await group(http, alice, [bob]))["chat_id"]
    await send(http, bob, chat_id, "mine")
    tab = await connect(alice)

    ack = await tab.call("edit_message", {"chat_id": chat_id, "seq": 1, "text": "yours"})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
    response = await http.patch(
        f"/chats/{chat_id}/messages/1", json={"text": "yours"}, headers=alice.headers
    )
    assert response.status_code == 403, response.text
    missing = await http.patch(
        f"/chats/{chat_id}/messages/2", json={"text": "yours"}, headers=bob.headers
    )
    assert missing.status_code == 404, missing.text
    history = (await http.get(f"/history/{chat_id}", headers=bob.headers)).json()
    assert [(m["text"], m["edited_at"], m["pts"]) for m in history] == [("mine", None, 1)]


async def test_delete_for_everyone_leaves_a_tombstone_and_no_text_in_the_database(
    http, users, connect, database_url
):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    chat_id = (await group(http, alice, [bob, carol]))["chat_id"]
    await send(http, alice, chat_id, "first")
    secret = await send(http, bob, chat_id, "the launch code is 0000", reply_to_seq=1)
    await react(http, carol, chat_id, 2, "😮")
    tabs = [await connect(user) for user in (alice, bob, carol)]

    refused = await tabs[2].call("delete_message", {"chat_id": chat_id, "seq": 2})
    assert refused["error"]["code"] == "forbidden", refused
    # Alice created the group: she may delete anyone's message in it.
    ack = await tabs[0].call("delete_message", {"chat_id": chat_id, "seq": 2})
    assert ack["ok"] is True, ack
    tombstone = ack["message"]
    assert (tombstone["id"], tombstone["seq"], tombstone["deleted"]) == (secret["id"], 2, True)
    assert (tombstone["text"], tombstone["reply_to"], tombstone["reactions"]) == (None, None, [])
    assert tombstone["pts"] == 4  # send, send, reaction, delete
    for tab in tabs:
        assert await tab.wait_for("message_updated") == [tombstone]

    [row] = await rows(
        database_url,
        "SELECT text, reply_to_seq, deleted_at FROM messages WHERE id = $1",
        secret["id"],
    )
    assert (row["text"], row["reply_to_seq"]) == (None, None) and row["deleted_at"] is not None
    assert await value(database_url, "SELECT count(*) FROM reactions") == 0
    dump = await value(database_url, "SELECT string_agg(m::text, ' ') FROM messages m")
    assert "launch code" not in dump

    # Twice: ok, the same tombstone, no second event; edits and reactions: not found.
    again = await delete_message(http, bob, chat_id, 2)
    assert again == tombstone
    for event, extra in (("edit_message", {"text": "x"}), ("react", {"emoji": "👍"})):
        answer = await tabs[1].call(event, {"chat_id": chat_id, "seq": 2, **extra})
        assert answer["error"]["code"] == "not_found", answer
    await asyncio.sleep(QUIET)
    assert [len(tab.received["message_updated"]) for tab in tabs] == [1, 1, 1]
    history = (await http.get(f"/history/{chat_id}", headers=carol.headers)).json()
    assert [m["seq"] for m in history] == [1, 2] and history[1] == tombstone


async def test_in_a_private_chat_only_the_sender_may_delete(http, users):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    await send(http, alice, chat_id, "mine")
    response = await http.delete(f"/chats/{chat_id}/messages/1", headers=bob.headers)
    assert response.status_code == 403, response.text
    assert (await delete_message(http, alice, chat_id, 1))["deleted"] is True


async def test_tombstones_count_neither_as_unread_nor_as_the_last_message(http, users):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    for text in ("one", "two", "three"):
        await send(http, alice, chat_id, text, client_msg_id=str(uuid.uuid4()))

    async def summary() -> tuple[int, str | None]:
        [chat] = (await http.get("/chats", headers=bob.headers)).json()
        last = chat["last_message"]
        return chat["unread_count"], last and last["text"]

    assert await summary() == (3, "three")
    await delete_message(http, alice, chat_id, 3)
    assert await summary() == (2, "two")
    await read(http, bob, chat_id, 1)
    await delete_message(http, alice, chat_id, 2)
    assert await summary() == (0, "one")
    await delete_message(http, alice, chat_id, 1)
    assert await summary() == (0, None)
    # The watermark still moves over tombstones, up to the chat's last seq.
    assert await read(http, bob, chat_id, 3) == 3

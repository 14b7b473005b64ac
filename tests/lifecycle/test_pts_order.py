"""pts is gapless under concurrency, and every socket hears each change once, in order."""

import asyncio
import uuid

from tests.support.api import group, send
from tests.support.db import value

CHANGE_EVENTS = ("message", "message_updated")


async def test_ten_members_changing_one_chat_at_once_get_gapless_pts_heard_in_order(
    http, users, connect, database_url
):
    members = await users(*(f"Member {n}" for n in range(10)))
    chat_id = (await group(http, members[0], members[1:]))["chat_id"]
    # Each member's two messages: seq 2n+1 to edit, 2n+2 to delete.
    for member in members:
        for text in ("to edit", "to delete"):
            await send(http, member, chat_id, text, client_msg_id=str(uuid.uuid4()))
    start = 2 * len(members)
    tabs = [await connect(member) for member in members]

    def calls(n: int):
        tab, mine = tabs[n], 2 * n + 1
        neighbour = 2 * ((n + 1) % len(members)) + 1
        yield tab.call(
            "send_message",
            {"chat_id": chat_id, "text": f"hi from {n}", "client_msg_id": str(uuid.uuid4())},
        )
        yield tab.call("edit_message", {"chat_id": chat_id, "seq": mine, "text": f"edited by {n}"})
        yield tab.call("delete_message", {"chat_id": chat_id, "seq": mine + 1})
        yield tab.call("react", {"chat_id": chat_id, "seq": neighbour, "emoji": "🔥"})
        yield tab.call(
            "send_message",
            {
                "chat_id": chat_id,
                "text": f"re from {n}",
                "client_msg_id": str(uuid.uuid4()),
                "reply_to_seq": neighbour,
            },
        )

    acks = await asyncio.gather(*(call for n in range(len(members)) for call in calls(n)))
    assert all(ack["ok"] for ack in acks), [ack for ack in acks if not ack["ok"]]
    changes = 5 * len(members)
    expected = list(range(start + 1, start + changes + 1))
    assert sorted(ack["message"]["pts"] for ack in acks) == expected
    assert await value(database_url, f"SELECT last_pts FROM chats WHERE id = {chat_id}") == (
        start + changes
    )

    def heard(tab) -> list[int]:
        return [data["pts"] for event, data in tab.log if event in CHANGE_EVENTS]

    for tab in tabs:
        await tab.wait_for("message_updated", lambda items: len(items) >= 3 * len(members))
        await tab.wait_for("message", lambda items: len(items) >= 2 * len(members))
    await asyncio.sleep(0.3)  # nothing more arrives
    for tab in tabs:
        assert heard(tab) == expected  # each change once, in pts order

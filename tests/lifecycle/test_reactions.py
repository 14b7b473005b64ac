"""Reactions: one per member per message, from the allow-list, counted exactly."""

import asyncio

from tests.support.api import group, react, send
from tests.support.db import value


async def test_a_reaction_is_set_replaced_and_removed_most_chosen_first(http, users, connect):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    chat_id = (await group(http, alice, [bob, carol]))["chat_id"]
    await send(http, alice, chat_id, "Shipped!")
    tab = await connect(alice)

    await react(http, alice, chat_id, 1, "🎉")
    await react(http, bob, chat_id, 1, "👍")
    message = await react(http, carol, chat_id, 1, "👍")
    assert message["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [bob.id, carol.id]},
        {"emoji": "🎉", "count": 1, "user_ids": [alice.id]},
    ]
    ack = await tab.call("react", {"chat_id": chat_id, "seq": 1, "emoji": "🔥"})  # replaces 🎉
    assert ack["message"]["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [bob.id, carol.id]},
        {"emoji": "🔥", "count": 1, "user_ids": [alice.id]},
    ]
    removed = await tab.call("react", {"chat_id": chat_id, "seq": 1, "emoji": None})
    assert removed["message"]["reactions"] == [message["reactions"][0]]
    assert removed["message"]["pts"] == 6  # a send and five reaction changes
    events = await tab.wait_for("message_updated", lambda items: len(items) >= 5)

    # No-ops: no pts, no event.
    assert (await tab.call("react", {"chat_id": chat_id, "seq": 1, "emoji": None})) == removed
    assert (await react(http, bob, chat_id, 1, "👍"))["pts"] == 6
    await asyncio.sleep(0.3)
    assert [event["pts"] for event in events] == [2, 3, 4, 5, 6]


async def test_fifty_members_reacting_at_once_are_counted_exactly(http, users, database_url):
    creator, *others = await users(*(f"Member {n}" for n in range(50)))
    chat_id = (await group(http, creator, others))["chat_id"]
    await send(http, creator, chat_id, "Vote!")
    everyone = [creator, *others]

    await asyncio.gather(
        *(react(http, user, chat_id, 1, "👍" if n % 5 else "❤️") for n, user in enumerate(everyone))
    )
    [message] = (await http.get(f"/history/{chat_id}", headers=creator.headers)).json()
    thumbs, hearts = message["reactions"]
    assert (thumbs["emoji"], thumbs["count"], hearts["emoji"], hearts["count"]) == (
        "👍",
        40,
        "❤️",
        10,
    )
    assert set(thumbs["user_ids"]) == {u.id for n, u in enumerate(everyone) if n % 5}
    assert set(hearts["user_ids"]) == {u.id for n, u in enumerate(everyone) if not n % 5}
    assert message["pts"] == 51
    assert await value(database_url, f"SELECT last_pts FROM chats WHERE id = {chat_id}") == 51


async def test_user_ids_are_capped_at_fifty(http, users, database_url):
    creator, *others = await users(*(f"Fan {n}" for n in range(52)))
    chat_id = (await group(http, creator, others))["chat_id"]
    await send(http, creator, chat_id, "Like this")
    # 52 members, one row each: quicker straight into the table than 52 requests.
    await value(
        database_url,
        "INSERT INTO reactions (message_id, user_id, emoji)"
        " SELECT m.id, u.id, '👍' FROM messages m, users u",
    )
    [message] = (await http.get(f"/history/{chat_id}", headers=creator.headers)).json()
    [thumbs] = message["reactions"]
    assert thumbs["count"] == 52 and len(thumbs["user_ids"]) == 50

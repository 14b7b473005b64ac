"""Presence over Socket.IO on the live server: online while any tab is open, the connect
snapshot of contacts, and new chat-mates hearing of each other."""

import asyncio
from datetime import datetime

from tests.support.api import group, private_chat


async def test_presence_goes_offline_only_when_the_last_tab_closes(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    await private_chat(http, alice, bob)
    bob_tab = await connect(bob)
    # Bob's snapshot: Alice is offline and was never seen.
    [snapshot] = await bob_tab.wait_for("presence")
    assert snapshot == {"user_id": alice.id, "online": False, "last_seen": None}
    alice_tab1 = await connect(alice)
    online = await bob_tab.wait_for("presence", lambda items: len(items) == 2)
    assert online[1]["user_id"] == alice.id and online[1]["online"] is True
    alice_tab2 = await connect(alice)
    await alice_tab1.disconnect()
    await asyncio.sleep(0.3)
    assert [p["online"] for p in bob_tab.received["presence"]] == [False, True]
    await alice_tab2.disconnect()
    events = await bob_tab.wait_for("presence", lambda items: len(items) == 3)
    assert events[2]["user_id"] == alice.id
    assert events[2]["online"] is False
    assert events[2]["last_seen"]
    me = (await http.get("/users/me", headers=alice.headers)).json()
    assert me["last_seen_at"] is not None


async def test_a_new_socket_learns_which_contacts_are_online_and_when_the_rest_were_seen(
    http, users, connect
):
    alice, bob, carol, dave, erin = await users("Alice", "Bob", "Carol", "Dave", "Erin")
    for contact in (alice, dave, erin):
        await private_chat(http, contact, bob)
    await connect(alice)
    await connect(carol)  # online, but shares no chat with bob
    dave_tab = await connect(dave)
    await dave_tab.disconnect()  # seen, now offline; Erin was never seen
    dave_seen = await _last_seen_once_offline(http, dave)
    bob_tab = await connect(bob)
    snapshot = await bob_tab.wait_for("presence", lambda items: len(items) >= 3)
    await asyncio.sleep(0.2)
    assert [(p["user_id"], p["online"]) for p in bob_tab.received["presence"]] == [
        (alice.id, True),
        (dave.id, False),
        (erin.id, False),
    ]
    assert datetime.fromisoformat(snapshot[1]["last_seen"]) == datetime.fromisoformat(dave_seen)
    assert snapshot[0]["last_seen"] and snapshot[2]["last_seen"] is None


async def _last_seen_once_offline(http, user) -> str:
    """The server handles a disconnect after the client has gone: wait for it."""
    for _ in range(200):
        seen = (await http.get("/users/me", headers=user.headers)).json()["last_seen_at"]
        if seen is not None:
            return str(seen)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user.name} was never marked offline")


def _online(tab) -> set[int]:
    return {p["user_id"] for p in tab.received["presence"] if p["online"]}


async def test_new_chat_mates_learn_who_of_them_is_online(http, users, connect):
    alice, bob, carol, dave = await users("Alice", "Bob", "Carol", "Dave")
    alice_tab, bob_tab, carol_tab = await connect(alice), await connect(bob), await connect(carol)
    assert _online(alice_tab) == _online(bob_tab) == set()  # no shared chat yet

    # A new private chat: each side hears the other is online.
    await private_chat(http, alice, bob)
    await alice_tab.wait_for("presence", lambda _: _online(alice_tab) == {bob.id})
    await bob_tab.wait_for("presence", lambda _: _online(bob_tab) == {alice.id})

    # Carol is added to a group of Alice and Dave (offline): she hears of Alice only, and
    # Alice hears of Carol.
    team = await group(http, alice, [dave])
    added = await http.post(
        f"/groups/{team['id']}/members", json={"user_id": carol.id}, headers=alice.headers
    )
    assert added.status_code in (200, 201), added.text
    await carol_tab.wait_for("presence", lambda _: _online(carol_tab) == {alice.id})
    await alice_tab.wait_for("presence", lambda _: _online(alice_tab) == {bob.id, carol.id})
    await asyncio.sleep(0.3)
    assert _online(carol_tab) == {alice.id}  # not Dave (offline), not herself
    assert _online(alice_tab) == {bob.id, carol.id}
    assert _online(bob_tab) == {alice.id}  # Bob is in no chat with Carol
    # Carol also hears when Dave was last seen (never); nobody hears of Carol offline.
    about_dave = [p for p in carol_tab.received["presence"] if p["user_id"] == dave.id]
    assert about_dave == [{"user_id": dave.id, "online": False, "last_seen": None}]
    assert all(p["user_id"] != carol.id for p in carol_tab.received["presence"])


async def test_a_new_chat_mate_who_is_offline_comes_with_when_they_were_last_seen(
    http, users, connect
):
    alice, bob = await users("Alice", "Bob")
    bob_tab = await connect(bob)
    await bob_tab.disconnect()  # Bob has been online, and is not now
    bob_seen = await _last_seen_once_offline(http, bob)
    alice_tab = await connect(alice)

    await private_chat(http, alice, bob)

    [heard] = await alice_tab.wait_for("presence")
    assert heard["user_id"] == bob.id and heard["online"] is False
    assert datetime.fromisoformat(heard["last_seen"]) == datetime.fromisoformat(bob_seen)

"""Typing indicators over Socket.IO."""

import asyncio

from tests.support.api import group


async def test_typing_reaches_the_others_but_not_the_typist(http, users, connect):
    alice, bob, carol = await users("Alice", "Bob", "Carol")
    chat_id = (await group(http, alice, [bob]))["chat_id"]
    alice_tab, bob_tab, carol_tab = await connect(alice), await connect(bob), await connect(carol)
    assert await alice_tab.call("typing", {"chat_id": chat_id}) == {"ok": True}
    assert await bob_tab.wait_for("typing") == [{"chat_id": chat_id, "user_id": alice.id}]
    await asyncio.sleep(0.2)
    assert alice_tab.received["typing"] == []
    assert carol_tab.received["typing"] == []
    refused = await carol_tab.call("typing", {"chat_id": chat_id})
    assert refused["ok"] is False and refused["error"]["code"] == "not_found"

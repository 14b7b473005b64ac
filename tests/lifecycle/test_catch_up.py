"""Catch-up by pts: after a disconnect, every changed message once, in its final state."""

import uuid

from tests.support.api import delete_message, edit, group, react, send


async def test_sync_after_pts_returns_each_changed_message_once_in_its_final_state(
    http, users, connect
):
    alice, bob = await users("Alice", "Bob")
    chat_id = (await group(http, alice, [bob]))["chat_id"]
    for n in range(3):
        await send(http, alice, chat_id, f"old {n}", client_msg_id=str(uuid.uuid4()))
    tab = await connect(bob)
    seen = max(m["pts"] for m in (await tab.call("sync", {"chat_id": chat_id}))["messages"])
    await tab.disconnect()

    # While Bob is away: send 5, edit 2 of them and 1 older one, delete 2, react to 3.
    for n in range(5):
        await send(http, alice, chat_id, f"new {n}", client_msg_id=str(uuid.uuid4()))
    await edit(http, alice, chat_id, 4, "new 0, edited")
    await edit(http, alice, chat_id, 5, "new 1, edited")
    await edit(http, alice, chat_id, 1, "old 0, edited")
    await delete_message(http, alice, chat_id, 6)
    await delete_message(http, alice, chat_id, 2)
    for seq in (4, 7, 8):
        await react(http, alice, chat_id, seq, "👍")

    tab = await connect(bob)
    answer = await tab.call("sync", {"chat_id": chat_id, "after_pts": seen})
    changed = answer["messages"]
    pts = [m["pts"] for m in changed]
    assert pts == sorted(pts) and len(set(m["seq"] for m in changed)) == len(changed)
    assert sorted(m["seq"] for m in changed) == [1, 2, 4, 5, 6, 7, 8]  # 3 never changed
    history = {
        m["seq"]: m for m in (await http.get(f"/history/{chat_id}", headers=bob.headers)).json()
    }
    assert all(m == history[m["seq"]] for m in changed)  # each in its current state
    by_seq = {m["seq"]: m for m in changed}
    assert by_seq[1]["text"] == "old 0, edited" and by_seq[2]["deleted"] is True
    assert by_seq[4]["reactions"][0]["count"] == 1 and by_seq[6]["text"] is None
    assert max(pts) == seen + 5 + 3 + 2 + 3

    over_rest = await http.get(
        f"/history/{chat_id}", params={"changed_after_pts": seen}, headers=bob.headers
    )
    assert over_rest.status_code == 200 and over_rest.json() == changed


async def test_paging_through_changes_with_a_limit_misses_nothing(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = (await group(http, alice, [bob]))["chat_id"]
    for n in range(12):
        await send(http, alice, chat_id, f"m {n}", client_msg_id=str(uuid.uuid4()))
    for seq in (2, 5, 9, 11):
        await edit(http, alice, chat_id, seq, f"edited {seq}")
    await delete_message(http, alice, chat_id, 3)
    tab = await connect(bob)

    after, pages = 0, []
    while True:
        page = (await tab.call("sync", {"chat_id": chat_id, "after_pts": after, "limit": 5}))[
            "messages"
        ]
        if not page:
            break
        pages.append(page)
        after = page[-1]["pts"]
        if len(pages) == 2:  # a change while paging moves its message past the cursor
            await edit(http, alice, chat_id, 1, "changed while paging")
    got = [m for page in pages for m in page]
    assert [len(page) for page in pages][:-1] == [5] * (len(pages) - 1)
    final = {m["seq"]: m for m in got}  # the latest copy of each wins
    assert sorted(final) == list(range(1, 13))
    assert final[1]["text"] == "changed while paging" and final[3]["deleted"] is True
    rest_pages = []
    after = 0
    while page := (
        await http.get(
            f"/history/{chat_id}",
            params={"changed_after_pts": after, "limit": 5},
            headers=bob.headers,
        )
    ).json():
        rest_pages.extend(page)
        after = page[-1]["pts"]
    assert [m["seq"] for m in rest_pages] == [
        m["seq"] for m in sorted(final.values(), key=lambda m: m["pts"])
    ]


async def test_bad_catch_up_requests_are_refused(http, users, connect):
    alice, bob = await users("Alice", "Bob")
    chat_id = (await group(http, alice, [bob]))["chat_id"]
    tab = await connect(bob)
    for payload in (
        {"chat_id": chat_id, "after_pts": -1},
        {"chat_id": chat_id, "after_pts": "0"},
        {"chat_id": chat_id, "after_pts": 2**70},
        {"chat_id": chat_id, "after_pts": 0, "after_seq": 0},
        {"chat_id": chat_id, "after_pts": 0, "limit": 201},
    ):
        answer = await tab.call("sync", payload)
        assert answer["error"]["code"] == "validation_error", (payload, answer)
    for params in ({"changed_after_pts": -1}, {"changed_after_pts": 0, "after_seq": 1}):
        response = await http.get(f"/history/{chat_id}", params=params, headers=bob.headers)
        assert response.status_code == 422, response.text

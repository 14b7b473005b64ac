"""Groups: create, view, rename, delete, add and remove members, leave — and who may do it."""

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.api import TestUser, group, read, register, send


def members_of(group_body: dict[str, Any]) -> dict[int, str]:
    return {m["user_id"]: m["role"] for m in group_body["members"]}


async def history(client: httpx.AsyncClient, user: TestUser, chat_id: int) -> httpx.Response:
    return await client.get(f"/history/{chat_id}", headers=user.headers)


async def read_flags(client: httpx.AsyncClient, user: TestUser, chat_id: int) -> list[bool]:
    response = await history(client, user, chat_id)
    assert response.status_code == 200, response.text
    return [m["is_read"] for m in response.json()]


async def add(
    client: httpx.AsyncClient, actor: TestUser, group_id: int, user_id: int
) -> httpx.Response:
    return await client.post(
        f"/groups/{group_id}/members", json={"user_id": user_id}, headers=actor.headers
    )


async def remove(
    client: httpx.AsyncClient, actor: TestUser, group_id: int, user_id: int
) -> httpx.Response:
    return await client.delete(f"/groups/{group_id}/members/{user_id}", headers=actor.headers)


async def count_rows(app: FastAPI, table: str, chat_id: int) -> int:
    async with app.state.runtime.sessions() as session:
        column = "id" if table == "chats" else "chat_id"
        result = await session.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :chat_id"), {"chat_id": chat_id}
        )
        count: int = result.scalar_one()
        return count


# --- create ---------------------------------------------------------------------------


async def test_create_group_returns_201_with_creator_as_owner(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    response = await client.post(
        "/groups", json={"name": "Team", "member_ids": [bob.id]}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Team"
    assert body["creator_id"] == alice.id
    assert isinstance(body["chat_id"], int)
    assert body["last_seq"] == 0
    assert members_of(body) == {alice.id: "owner", bob.id: "member"}


async def test_create_group_alone_makes_the_creator_its_only_member(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    body = await group(client, alice, [], name="Notes")
    assert members_of(body) == {alice.id: "owner"}
    assert (await send(client, alice, body["chat_id"], "note to self"))["seq"] == 1


async def test_create_group_tolerates_duplicates_and_the_creator_in_member_ids(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    response = await client.post(
        "/groups",
        json={"name": "Team", "member_ids": [bob.id, bob.id, alice.id]},
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    assert members_of(response.json()) == {alice.id: "owner", bob.id: "member"}


async def test_create_group_with_unknown_member_is_404_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    response = await client.post(
        "/groups", json={"name": "Team", "member_ids": [bob.id, 987654321]}, headers=alice.headers
    )
    assert response.status_code == 404
    assert (await client.get("/chats", headers=alice.headers)).json() == []
    assert (await client.get("/chats", headers=bob.headers)).json() == []


async def test_create_group_rejects_bad_names_and_ids_with_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bad_bodies: list[dict[str, Any]] = [
        {"name": "", "member_ids": []},
        {"name": "   ", "member_ids": []},
        {"name": "x" * 101, "member_ids": []},
        {"member_ids": []},
        {"name": "Team", "member_ids": ["abc"]},
        {"name": "Team", "member_ids": [0]},
        {"name": "Team", "member_ids": [-1]},
        {"name": "Team", "member_ids": "1"},
    ]
    for body in bad_bodies:
        response = await client.post("/groups", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    assert (await client.get("/chats", headers=alice.headers)).json() == []


async def test_create_group_accepts_a_100_character_name(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    assert (await group(client, alice, [], name="n" * 100))["name"] == "n" * 100


async def test_create_group_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/groups", json={"name": "Team", "member_ids": []})
    assert response.status_code == 401


# --- view -----------------------------------------------------------------------------


async def test_member_can_view_the_group(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    response = await client.get(f"/groups/{created['id']}", headers=bob.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["chat_id"]) == (
        created["id"],
        "Team",
        created["chat_id"],
    )
    assert members_of(body) == {alice.id: "owner", bob.id: "member"}


async def test_outsider_gets_the_same_404_as_for_a_missing_group(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    carol = await register(client, "Carol")
    created = await group(client, alice, [], name="Secret society")
    not_member = await client.get(f"/groups/{created['id']}", headers=carol.headers)
    missing = await client.get(f"/groups/{created['id'] + 1000}", headers=carol.headers)
    assert not_member.status_code == missing.status_code == 404
    assert not_member.json() == missing.json()
    assert "Secret" not in not_member.text


# --- rename ---------------------------------------------------------------------------


async def test_creator_renames_the_group_and_everyone_sees_the_new_name(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob], name="Old")
    response = await client.patch(
        f"/groups/{created['id']}", json={"name": "New"}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "New"
    [row] = (await client.get("/chats", headers=bob.headers)).json()
    assert row["name"] == "New"
    chat = (await client.get(f"/chats/{created['chat_id']}", headers=bob.headers)).json()
    assert chat["name"] == "New"
    assert (await client.get(f"/groups/{created['id']}", headers=bob.headers)).json()[
        "name"
    ] == "New"


async def test_member_cannot_rename_the_group(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob], name="Old")
    response = await client.patch(
        f"/groups/{created['id']}", json={"name": "Hijacked"}, headers=bob.headers
    )
    assert response.status_code == 403
    assert (await client.get(f"/groups/{created['id']}", headers=bob.headers)).json()[
        "name"
    ] == "Old"


async def test_outsider_renaming_a_group_gets_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    carol = await register(client, "Carol")
    created = await group(client, alice, [], name="Old")
    response = await client.patch(
        f"/groups/{created['id']}", json={"name": "Hijacked"}, headers=carol.headers
    )
    assert response.status_code == 404


async def test_rename_to_a_blank_name_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    created = await group(client, alice, [], name="Old")
    for name in ("", "  ", "x" * 101):
        response = await client.patch(
            f"/groups/{created['id']}", json={"name": name}, headers=alice.headers
        )
        assert response.status_code == 422, name


# --- delete ---------------------------------------------------------------------------


async def test_creator_deletes_the_group_and_it_is_gone_everywhere(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    group_id, chat_id = created["id"], created["chat_id"]
    await send(client, alice, chat_id, "hello")
    await send(client, bob, chat_id, "hi")

    response = await client.delete(f"/groups/{group_id}", headers=alice.headers)
    assert response.status_code == 204
    assert response.content == b""

    for user in (alice, bob):
        assert (await client.get(f"/groups/{group_id}", headers=user.headers)).status_code == 404
        assert (await client.get(f"/chats/{chat_id}", headers=user.headers)).status_code == 404
        assert (await history(client, user, chat_id)).status_code == 404
        sent = await client.post(
            f"/chats/{chat_id}/messages", json={"text": "anyone?"}, headers=user.headers
        )
        assert sent.status_code == 404
        assert (await client.get("/chats", headers=user.headers)).json() == []
    again = await client.delete(f"/groups/{group_id}", headers=alice.headers)
    assert again.status_code == 404
    assert await count_rows(app, "messages", chat_id) == 0
    assert await count_rows(app, "chat_members", chat_id) == 0
    assert await count_rows(app, "chats", chat_id) == 0


async def test_member_cannot_delete_the_group(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    await send(client, alice, created["chat_id"], "still here")
    response = await client.delete(f"/groups/{created['id']}", headers=bob.headers)
    assert response.status_code == 403
    assert [m["text"] for m in (await history(client, bob, created["chat_id"])).json()] == [
        "still here"
    ]


async def test_outsider_deleting_a_group_gets_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    carol = await register(client, "Carol")
    created = await group(client, alice, [])
    response = await client.delete(f"/groups/{created['id']}", headers=carol.headers)
    assert response.status_code == 404
    assert (await client.get(f"/groups/{created['id']}", headers=alice.headers)).status_code == 200


# --- add member -----------------------------------------------------------------------


async def test_creator_adds_a_member(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [])
    response = await add(client, alice, created["id"], bob.id)
    assert response.status_code == 201, response.text
    assert members_of(response.json()) == {alice.id: "owner", bob.id: "member"}
    assert [c["id"] for c in (await client.get("/chats", headers=bob.headers)).json()] == [
        created["chat_id"]
    ]


async def test_added_member_can_read_history_and_send(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [])
    chat_id = created["chat_id"]
    await send(client, alice, chat_id, "before bob")
    assert (await history(client, bob, chat_id)).status_code == 404
    assert (await add(client, alice, created["id"], bob.id)).status_code == 201
    response = await history(client, bob, chat_id)
    assert response.status_code == 200
    assert [m["text"] for m in response.json()] == ["before bob"]
    message = await send(client, bob, chat_id, "hi, I am new")
    assert message["seq"] == 2


async def test_added_member_starts_with_earlier_messages_counted_as_read(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [])
    await send(client, alice, created["chat_id"], "one")
    await send(client, alice, created["chat_id"], "two")
    body = (await add(client, alice, created["id"], bob.id)).json()
    assert {m["user_id"]: m["last_read_seq"] for m in body["members"]}[bob.id] == 2
    [row] = (await client.get("/chats", headers=bob.headers)).json()
    assert row["unread_count"] == 0


async def test_member_added_later_does_not_block_earlier_messages_from_becoming_read(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    created = await group(client, alice, [bob])
    chat_id = created["chat_id"]
    await send(client, alice, chat_id, "one")
    await send(client, alice, chat_id, "two")
    assert (await add(client, alice, created["id"], carol.id)).status_code == 201
    assert await read_flags(client, alice, chat_id) == [False, False]
    await read(client, bob, chat_id, 2)
    # Bob was the only other member when they were sent; Carol must not hold them back.
    assert await read_flags(client, alice, chat_id) == [True, True]
    # A message sent after Carol joined needs both Bob and Carol.
    await send(client, alice, chat_id, "three")
    await read(client, bob, chat_id, 3)
    assert await read_flags(client, alice, chat_id) == [True, True, False]
    await read(client, carol, chat_id, 3)
    assert await read_flags(client, alice, chat_id) == [True, True, True]


async def test_member_cannot_add_members(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    created = await group(client, alice, [bob])
    response = await add(client, bob, created["id"], carol.id)
    assert response.status_code == 403
    assert (await client.get(f"/groups/{created['id']}", headers=carol.headers)).status_code == 404


async def test_outsider_adding_members_gets_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    carol = await register(client, "Carol")
    created = await group(client, alice, [])
    assert (await add(client, carol, created["id"], carol.id)).status_code == 404


async def test_adding_an_existing_member_is_409(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    assert (await add(client, alice, created["id"], bob.id)).status_code == 409
    assert (await add(client, alice, created["id"], alice.id)).status_code == 409


async def test_adding_an_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    created = await group(client, alice, [])
    assert (await add(client, alice, created["id"], 987654321)).status_code == 404


async def test_adding_with_a_bad_user_id_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    created = await group(client, alice, [])
    for bad in ("abc", 0, -5, None):
        response = await client.post(
            f"/groups/{created['id']}/members", json={"user_id": bad}, headers=alice.headers
        )
        assert response.status_code == 422, bad


# --- remove member / leave ------------------------------------------------------------


async def test_creator_removes_a_member_who_then_loses_access(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    chat_id = created["chat_id"]
    await send(client, alice, chat_id, "before removal")
    response = await remove(client, alice, created["id"], bob.id)
    assert response.status_code == 204
    assert (await history(client, bob, chat_id)).status_code == 404
    sent = await client.post(
        f"/chats/{chat_id}/messages", json={"text": "let me in"}, headers=bob.headers
    )
    assert sent.status_code == 404
    assert (await client.get(f"/groups/{created['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get("/chats", headers=bob.headers)).json() == []
    body = (await client.get(f"/groups/{created['id']}", headers=alice.headers)).json()
    assert members_of(body) == {alice.id: "owner"}
    assert [m["text"] for m in (await history(client, alice, chat_id)).json()] == ["before removal"]


async def test_member_leaves_the_group(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    assert (await remove(client, bob, created["id"], bob.id)).status_code == 204
    assert (await history(client, bob, created["chat_id"])).status_code == 404
    body = (await client.get(f"/groups/{created['id']}", headers=alice.headers)).json()
    assert members_of(body) == {alice.id: "owner"}


async def test_creator_cannot_leave_the_group(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    assert (await remove(client, alice, created["id"], alice.id)).status_code == 409
    assert (await client.get(f"/groups/{created['id']}", headers=alice.headers)).status_code == 200


async def test_removing_a_non_member_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    carol = await register(client, "Carol")
    created = await group(client, alice, [])
    assert (await remove(client, alice, created["id"], carol.id)).status_code == 404
    assert (await remove(client, alice, created["id"], 987654321)).status_code == 404


async def test_member_cannot_remove_another_member(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    created = await group(client, alice, [bob, carol])
    assert (await remove(client, bob, created["id"], carol.id)).status_code == 403
    assert (await remove(client, bob, created["id"], alice.id)).status_code == 403
    body = (await client.get(f"/groups/{created['id']}", headers=alice.headers)).json()
    assert set(members_of(body)) == {alice.id, bob.id, carol.id}


async def test_outsider_removing_a_member_gets_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    created = await group(client, alice, [bob])
    assert (await remove(client, carol, created["id"], bob.id)).status_code == 404


async def test_leaving_completes_the_read_status_the_leaver_was_holding_back(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    carol = await register(client, "Carol")
    created = await group(client, alice, [bob, carol])
    chat_id = created["chat_id"]
    await send(client, alice, chat_id, "read by all?")
    await read(client, bob, chat_id, 1)
    assert await read_flags(client, alice, chat_id) == [False]
    assert (await remove(client, carol, created["id"], carol.id)).status_code == 204
    assert await read_flags(client, alice, chat_id) == [True]


async def test_group_routes_without_token_are_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    created = await group(client, alice, [bob])
    gid = created["id"]
    calls = [
        client.get(f"/groups/{gid}"),
        client.patch(f"/groups/{gid}", json={"name": "x"}),
        client.delete(f"/groups/{gid}"),
        client.post(f"/groups/{gid}/members", json={"user_id": bob.id}),
        client.delete(f"/groups/{gid}/members/{bob.id}"),
    ]
    for call in calls:
        assert (await call).status_code == 401
    assert (await client.get(f"/groups/{gid}", headers=bob.headers)).status_code == 200


async def test_removing_with_a_bad_user_id_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    created = await group(client, alice, [])
    for bad in ("abc", "0", "-1", "1.5"):
        response = await client.delete(
            f"/groups/{created['id']}/members/{bad}", headers=alice.headers
        )
        assert response.status_code == 422, bad

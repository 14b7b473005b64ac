"""A versus B: a user outside a chat is refused on every chat-scoped REST route and socket
event, learns nothing about the chat (no text, no names, no member list), and changes
nothing in the database; the chat's members hear nothing of the attempt.

To cover a new route or event, add one line to ATTEMPTS; the last test fails until every
chat-scoped route and socket event of the app is in it.
"""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.support.api import TestUser, group, private_chat, react, read, send
from tests.support.db import rows
from tests.support.sockets import RecordingClient

TABLES = ("users", "chats", "chat_members", "groups", "messages", "reactions")
SECRETS = ("Alice", "Bob", "Skunkworks", "the launch code is 0000", "meet at noon")


@dataclass(frozen=True)
class Attempt:
    """What the outsider tries: a REST call (`method`, `path`, `body`) or a socket event
    (`event`, `payload`). Strings may name {chat_id}, {group_id}, {member_id} (a member
    who is not the creator) and {outsider_id}; `chats` says which chats it is tried on."""

    name: str
    method: str = ""
    path: str = ""
    body: dict[str, Any] | None = None
    event: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    chats: tuple[str, ...] = ("private", "group")


def rest(
    name: str, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any
) -> Attempt:
    return Attempt(name, method=method, path=path, body=body, **kw)


def socket(event: str, payload: dict[str, Any]) -> Attempt:
    detail = ",".join(key for key in payload if key != "chat_id")
    return Attempt(f"socket {event} {detail}", event=event, payload=payload)


GROUP_ONLY = {"chats": ("group",)}
ATTEMPTS = [
    rest("history", "GET", "/history/{chat_id}"),
    rest("chat details", "GET", "/chats/{chat_id}"),
    rest("send", "POST", "/chats/{chat_id}/messages", {"text": "let me in"}),
    rest("read", "POST", "/chats/{chat_id}/read", {"seq": 1}),
    rest("changes", "GET", "/history/{chat_id}?changed_after_pts=0"),
    rest("edit", "PATCH", "/chats/{chat_id}/messages/{seq}", {"text": "mine now"}),
    rest("delete message", "DELETE", "/chats/{chat_id}/messages/{seq}"),
    rest("react", "PUT", "/chats/{chat_id}/messages/{seq}/reaction", {"emoji": "👍"}),
    rest("unreact", "DELETE", "/chats/{chat_id}/messages/{seq}/reaction"),
    rest("group details", "GET", "/groups/{group_id}", **GROUP_ONLY),
    rest("rename group", "PATCH", "/groups/{group_id}", {"name": "Mine now"}, **GROUP_ONLY),
    rest("delete group", "DELETE", "/groups/{group_id}", **GROUP_ONLY),
    rest(
        "add self to group",
        "POST",
        "/groups/{group_id}/members",
        {"user_id": "{outsider_id}"},
        **GROUP_ONLY,
    ),
    rest("remove a member", "DELETE", "/groups/{group_id}/members/{member_id}", **GROUP_ONLY),
    rest("leave", "DELETE", "/groups/{group_id}/members/{outsider_id}", **GROUP_ONLY),
    rest("search one chat", "GET", "/search/messages?q=launch&chat_id={chat_id}"),
    socket(
        "send_message", {"chat_id": "{chat_id}", "text": "let me in", "client_msg_id": "{uuid}"}
    ),
    socket("read", {"chat_id": "{chat_id}", "seq": 1}),
    socket("typing", {"chat_id": "{chat_id}"}),
    socket("sync", {"chat_id": "{chat_id}", "after_seq": 0}),
    socket("sync", {"chat_id": "{chat_id}", "after_pts": 0}),
    socket("edit_message", {"chat_id": "{chat_id}", "seq": 1, "text": "mine now"}),
    socket("delete_message", {"chat_id": "{chat_id}", "seq": 1}),
    socket("react", {"chat_id": "{chat_id}", "seq": 1, "emoji": "👍"}),
]
CASES = [
    pytest.param(attempt, chat, id=f"{attempt.name} ({chat} chat)")
    for attempt in ATTEMPTS
    for chat in attempt.chats
]


def _fill(value: Any, names: dict[str, Any]) -> Any:
    """`value` with {placeholders} filled in; a string that is one placeholder becomes
    the value itself (an id stays a number)."""
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in names:
            return names[value[1:-1]]
        return value.format(**names)
    return value


@dataclass
class Scene:
    names: dict[str, Any]
    outsider: TestUser
    outsider_socket: RecordingClient
    member_sockets: list[RecordingClient]


@pytest.fixture
async def scene(http, users, connect) -> Scene:
    """Alice created the group "Skunkworks" with Bob and shares a private chat with him;
    both chats hold messages and read marks. Mallory is in neither."""
    alice, bob, mallory = await users("Alice", "Bob", "Mallory")
    team = await group(http, alice, [bob], name="Skunkworks")
    private = await private_chat(http, alice, bob)
    for chat_id in (team["chat_id"], private):
        await send(http, alice, chat_id, "the launch code is 0000")
        await send(http, bob, chat_id, "meet at noon")
        await read(http, bob, chat_id, 1)
        await react(http, alice, chat_id, 2, "👍")
    member_sockets = [await connect(alice), await connect(bob)]
    outsider_socket = await connect(mallory)
    await asyncio.sleep(0.3)  # presence news of these connections has arrived
    for client in (*member_sockets, outsider_socket):
        client.received.clear()
    names = {
        "group_id": team["id"],
        "member_id": bob.id,
        "outsider_id": mallory.id,
        "seq": 1,
        "chats": {"group": team["chat_id"], "private": private},
    }
    return Scene(names, mallory, outsider_socket, member_sockets)


async def _database(database_url: str) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(row) for row in await rows(database_url, f"SELECT * FROM {table} ORDER BY 1")]
        for table in TABLES
    }


@pytest.mark.parametrize(("attempt", "chat"), CASES)
async def test_an_outsider_is_refused_learns_nothing_and_changes_nothing(
    attempt: Attempt, chat: str, scene: Scene, http, database_url: str
) -> None:
    names = {**scene.names, "chat_id": scene.names["chats"][chat], "uuid": str(uuid.uuid4())}
    before = await _database(database_url)

    if attempt.event:
        payload = _fill(attempt.payload, names)
        answer = await scene.outsider_socket.call(attempt.event, payload)
        assert answer["ok"] is False, answer
        assert answer["error"]["code"] == "not_found", answer
        assert set(answer) == {"ok", "error"}
    else:
        response = await http.request(
            attempt.method,
            _fill(attempt.path, names),
            json=_fill(attempt.body, names),
            headers=scene.outsider.headers,
        )
        assert response.status_code == 404, response.text
        answer = response.json()
        assert set(answer) == {"detail"}, answer

    told = json.dumps(answer)
    assert not [secret for secret in SECRETS if secret.lower() in told.lower()], told
    await asyncio.sleep(0.3)  # anything the attempt set off would have arrived by now
    for client in (scene.outsider_socket, *scene.member_sockets):
        assert not any(client.received.values()), dict(client.received)
    assert await _database(database_url) == before


def test_every_chat_scoped_route_and_socket_event_is_in_the_matrix(app: FastAPI) -> None:
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and ("{chat_id}" in route.path or "{group_id}" in route.path)
        for method in route.methods
    }
    covered = {(a.method, a.path.replace("{member_id}", "{user_id}")) for a in ATTEMPTS}
    covered |= {(a.method, a.path.replace("{outsider_id}", "{user_id}")) for a in ATTEMPTS}
    assert routes <= covered, sorted(routes - covered)

    events = set(app.state.sio.handlers["/"]) - {"connect", "disconnect"}
    assert events <= {a.event for a in ATTEMPTS}, sorted(events)

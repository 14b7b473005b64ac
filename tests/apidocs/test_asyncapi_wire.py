"""What the real server sends matches docs/asyncapi.yaml: one scene sets off every server
event and every kind of ack, real python-socketio clients record everything they get
(a catch-all handler, so an undocumented event fails too), and each payload is
validated against the document's schema for that event."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
import yaml
from jsonschema import Draft202012Validator

from tests.support.api import TestUser, group, private_chat, register
from tests.support.servers import LiveServer

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


class Doc:
    """The document's schemas, by Socket.IO event name and direction."""

    def __init__(self) -> None:
        self.raw: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())

    def _message(self, ref: str) -> dict[str, Any]:
        _, _, channel, _, key = ref.split("/")
        message: dict[str, Any] = self.raw["channels"][channel]["messages"][key]
        return message

    def server_events(self) -> dict[str, dict[str, Any]]:
        """Event name -> payload schema, for what the server sends."""
        return {
            self._message(ref["$ref"])["name"]: self._message(ref["$ref"])["payload"]
            for name, operation in self.raw["operations"].items()
            if operation["action"] == "send"
            for ref in operation["messages"]
        }

    def replies(self, operation: str) -> dict[str, dict[str, Any]]:
        """Reply message key -> payload schema, for a client event or connect."""
        return {
            ref["$ref"].rsplit("/", 1)[1]: self._message(ref["$ref"])["payload"]
            for ref in self.raw["operations"][operation]["reply"]["messages"]
        }

    def problems(self, schema: dict[str, Any], payload: Any) -> list[str]:
        """Whatever does not fit the schema, and any field the document does not name."""
        root = {**schema, "components": strict(self.raw["components"])}
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(payload)]


def strict(schema: Any) -> Any:
    """The schema with no room for undocumented fields in any object."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if schema.get("type") == "object" and "properties" in schema:
        tightened.setdefault("additionalProperties", False)
    return tightened


class Listener:
    """A client that records every event, whatever its name."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []

        async def anything(event: str, *args: Any) -> None:
            self.events.append((event, args[0] if len(args) == 1 else list(args)))

        self.sio.on("*", handler=anything)

    async def connect(self, server: LiveServer, user: TestUser) -> "Listener":
        await self.sio.connect(
            server.base_url, auth={"token": user.token}, transports=["websocket"], wait_timeout=10
        )
        return self

    def names(self) -> set[str]:
        return {name for name, _ in self.events}


@pytest.fixture
async def listeners() -> AsyncIterator[list[Listener]]:
    opened: list[Listener] = []
    yield opened
    for listener in opened:
        if listener.sio.connected:
            await listener.sio.disconnect()


async def until(check: Any, within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_every_event_and_ack_on_the_wire_matches_the_document(
    live_server: LiveServer, http: httpx.AsyncClient, listeners: list[Listener]
) -> None:
    doc = Doc()
    alice, bob, carol, dave = [await register(http, n) for n in ("Alice", "Bob", "Carol", "Dave")]

    async def listen(user: TestUser) -> Listener:
        listener = await Listener().connect(live_server, user)
        listeners.append(listener)
        return listener

    a, b = await listen(alice), await listen(bob)
    acks: list[tuple[str, Any]] = []

    async def call(listener: Listener, event: str, payload: Any) -> Any:
        answer = await listener.sio.call(event, payload, timeout=10)
        acks.append((event, answer))
        return answer

    chat_id = await private_chat(http, alice, bob)  # chat_joined
    sent = await call(
        a, "send_message", {"chat_id": chat_id, "text": "hi", "client_msg_id": str(uuid.uuid4())}
    )  # message
    assert sent["ok"], sent
    await call(b, "typing", {"chat_id": chat_id})  # typing
    await call(b, "read", {"chat_id": chat_id, "seq": sent["message"]["seq"]})  # receipts
    await call(a, "sync", {"chat_id": chat_id, "after_seq": 0, "limit": 10})
    reply = {
        "chat_id": chat_id,
        "text": "re",
        "client_msg_id": str(uuid.uuid4()),
        "reply_to_seq": 1,
    }
    assert (await call(b, "send_message", reply))["ok"]  # a reply's quote
    await call(b, "react", {"chat_id": chat_id, "seq": 1, "emoji": "👍"})  # message_updated
    await call(b, "edit_message", {"chat_id": chat_id, "seq": 2, "text": "re!"})
    assert not (await call(a, "edit_message", {"chat_id": chat_id, "seq": 2, "text": "x"}))["ok"]
    await call(b, "delete_message", {"chat_id": chat_id, "seq": 2})
    await call(a, "sync", {"chat_id": chat_id, "after_pts": 0})
    assert not (await call(a, "send_message", {"chat_id": chat_id}))["ok"]  # validation_error
    assert not (await call(a, "read", {"chat_id": 10**9, "seq": 1}))["ok"]  # not_found

    team = await group(http, alice, [bob])
    added = await http.post(
        f"/groups/{team['id']}/members", json={"user_id": carol.id}, headers=alice.headers
    )  # member_added
    assert added.status_code == 201, added.text
    c = await listen(carol)  # presence: Carol online, then offline
    await c.sio.disconnect()
    renamed = await http.patch(
        f"/groups/{team['id']}", json={"name": "Crew"}, headers=alice.headers
    )  # chat_updated
    assert renamed.status_code == 200, renamed.text
    left = await http.delete(
        f"/groups/{team['id']}/members/{bob.id}", headers=bob.headers
    )  # member_removed, chat_left
    assert left.status_code == 204, left.text

    documented = doc.server_events()
    await until(lambda: set(documented) <= a.names() | b.names())

    # A refused connection's connect_error.
    refused: list[Any] = []
    stranger = socketio.AsyncClient(reconnection=False)
    stranger.on("connect_error", handler=refused.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stranger.connect(
            live_server.base_url, auth={"token": "not-a-jwt"}, transports=["websocket"]
        )
    _ = dave  # a user nobody shares a chat with

    received = [event for listener in listeners for event in listener.events]
    undocumented = {name for name, _ in received} - set(documented)
    assert undocumented == set()
    for name, payload in received:
        assert doc.problems(documented[name], payload) == [], (name, payload)

    assert {event for event, _ in acks} == {
        "send_message",
        "typing",
        "read",
        "sync",
        "react",
        "edit_message",
        "delete_message",
    }
    for event, answer in acks:
        replies = doc.replies(event)
        schema = replies[f"{event}_ack"] if answer["ok"] else replies["error_ack"]
        assert doc.problems(schema, answer) == [], (event, answer)
    assert [answer["error"]["code"] for _, answer in acks if not answer["ok"]] == [
        "forbidden",
        "validation_error",
        "not_found",
    ]

    assert refused == [{"message": "unauthorized"}]
    assert doc.problems(doc.replies("connect")["connect_error"], refused[0]) == []

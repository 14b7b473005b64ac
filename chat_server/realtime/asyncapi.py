"""The AsyncAPI 3.0 document of the Socket.IO protocol, generated from the same pydantic
models that validate the events and shape what the server sends.

`python -m chat_server asyncapi` writes it (docs/asyncapi.yaml is that output, checked
by a test); the server answers it at GET /asyncapi.yaml.
"""

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chat_server import __version__
from chat_server.chats.schemas import ChatOut
from chat_server.messages.schemas import (
    MessageOut,
    SocketChatIn,
    SocketEditIn,
    SocketMessageRefIn,
    SocketReactIn,
    SocketReadIn,
    SocketSendIn,
    SocketSyncIn,
)
from chat_server.realtime.schemas import (
    ChatLeftOut,
    ConnectAuth,
    ConnectErrorOut,
    ErrorAck,
    MemberChangeOut,
    MessageAck,
    MessagesReadOut,
    OkAck,
    PresenceOut,
    ReadAck,
    ReadReceiptOut,
    SendAck,
    SyncAck,
    TypingOut,
)


@dataclass(frozen=True)
class ClientEvent:
    """An event a client emits; the server answers through the ack callback."""

    name: str
    payload: type[BaseModel]
    ack: type[BaseModel]
    summary: str


@dataclass(frozen=True)
class ServerEvent:
    """An event the server emits, and to whom."""

    name: str
    payload: type[BaseModel]
    to: str
    summary: str


CLIENT_EVENTS = (
    ClientEvent(
        "send_message",
        SocketSendIn,
        SendAck,
        "Send a message (optionally a reply). Retrying with the same client_msg_id stores it once.",
    ),
    ClientEvent(
        "read",
        SocketReadIn,
        ReadAck,
        "Mark everything up to a seq read (never moves back).",
    ),
    ClientEvent("typing", SocketChatIn, OkAck, "Say you are typing (every few seconds)."),
    ClientEvent(
        "sync",
        SocketSyncIn,
        SyncAck,
        "Catch up after a reconnect: the messages after a seq, or every message changed "
        "after a pts.",
    ),
    ClientEvent(
        "edit_message",
        SocketEditIn,
        MessageAck,
        "Edit your message's text (sender only; the same text changes nothing).",
    ),
    ClientEvent(
        "delete_message",
        SocketMessageRefIn,
        MessageAck,
        "Delete a message for everyone (yours, or any in a group you created).",
    ),
    ClientEvent(
        "react",
        SocketReactIn,
        MessageAck,
        "Set your one reaction on a message, or remove it with emoji null.",
    ),
)

SERVER_EVENTS = (
    ServerEvent("message", MessageOut, "chat:{id}", "A new message, in seq order per chat."),
    ServerEvent(
        "message_updated",
        MessageOut,
        "chat:{id}",
        "A message was edited, deleted for everyone (a tombstone) or reacted to: its whole "
        "new state; with `message`, in pts order per chat.",
    ),
    ServerEvent(
        "messages_read",
        MessagesReadOut,
        "user:{sender}",
        "Your messages that have just been read by everyone else (once per message).",
    ),
    ServerEvent("read_receipt", ReadReceiptOut, "chat:{id}", "A member's watermark moved."),
    ServerEvent("typing", TypingOut, "chat:{id} but the typist's socket", "Someone is typing."),
    ServerEvent(
        "presence",
        PresenceOut,
        "the user's chats; on connect, the new socket (one per contact); on sharing a "
        "new chat, the new chat-mates",
        "Someone came online or went offline (when their last tab closed).",
    ),
    ServerEvent(
        "chat_joined",
        ChatOut,
        "user:{id}",
        "You are in a new chat (created, or you were added); its events follow at once.",
    ),
    ServerEvent(
        "chat_left",
        ChatLeftOut,
        "user:{id}",
        "You left, were removed, or the group was deleted; its events stop.",
    ),
    ServerEvent("chat_updated", ChatOut, "chat:{id}", "The chat changed (a group renamed)."),
    ServerEvent("member_added", MemberChangeOut, "chat:{id}", "Someone was added."),
    ServerEvent("member_removed", MemberChangeOut, "chat:{id}", "Someone left or was removed."),
)

DESCRIPTION = """\
The real-time half of chat_server, beside its REST API (OpenAPI at /docs).

Connect a Socket.IO client (protocol v5; socket.io-client 4, python-socketio 5) to the
server's origin, namespace `/`, path `/socket.io`, with `auth: {"token": "<jwt>"}`: the
access_token of POST /auth/login or /auth/token. A missing, malformed or expired token
is refused with a `connect_error` whose message is `unauthorized`. A browser page may
connect from the server's own origin or from one listed in CORS_ORIGINS.

Every client event is answered through the Socket.IO acknowledgement callback: its
`ok: true` reply, or an error ack (`ok: false`) after which nothing was stored. Bad input
never drops the connection. One socket's events are handled one at a time, in order.

A connected socket is in the rooms `user:{id}` and `chat:{id}` for each of its chats;
chats you join or leave are joined and left at once, on every socket and server process.
After a reconnect, `sync` each chat with `after_pts`, the highest pts you have seen: you
get every message sent, edited, deleted or reacted to meanwhile, once, as it is now.
"""


def _schemas(
    models: list[tuple[type[BaseModel], JsonSchemaMode]],
) -> tuple[dict[str, str], dict[str, Any]]:
    """Each model's name in components/schemas, and those schemas (nested ones too)."""
    refs, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    names = {model.__name__: ref["$ref"].rsplit("/", 1)[1] for (model, _), ref in refs.items()}
    return names, top.get("$defs", {})


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def build_asyncapi() -> dict[str, Any]:
    """The document, as plain data in a stable order."""
    inputs: list[type[BaseModel]] = [ConnectAuth, *(event.payload for event in CLIENT_EVENTS)]
    outputs: list[type[BaseModel]] = [
        ConnectErrorOut,
        ErrorAck,
        *(event.ack for event in CLIENT_EVENTS),
        *(event.payload for event in SERVER_EVENTS),
    ]
    # What clients send is described as it is validated, what they get as it is sent.
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation") for model in dict.fromkeys(inputs)
    ]
    models += [(model, "serialization") for model in dict.fromkeys(outputs)]
    names, schemas = _schemas(models)

    def message(name: str, title: str, summary: str, model: type[BaseModel]) -> dict[str, Any]:
        return {
            "name": name,
            "title": title,
            "summary": summary,
            "contentType": "application/json",
            "payload": _ref(f"#/components/schemas/{names[model.__name__]}"),
        }

    events: dict[str, Any] = {
        "connect": message(
            "connect",
            "Connection auth",
            "Not an event: the `auth` object sent when connecting.",
            ConnectAuth,
        ),
        "connect_error": message(
            "connect_error",
            "Connection refused",
            "The client's `connect_error`, when the server refuses the connection.",
            ConnectErrorOut,
        ),
    }
    acks: dict[str, Any] = {
        "error_ack": message(
            "error_ack",
            "Error ack",
            "The answer to any client event that failed: nothing was stored or changed.",
            ErrorAck,
        )
    }
    operations: dict[str, Any] = {
        "connect": {
            "action": "receive",
            "channel": _ref("#/channels/socket"),
            "summary": "Connect with a token.",
            "messages": [_ref("#/channels/socket/messages/connect")],
            "reply": {
                "channel": _ref("#/channels/socket"),
                "messages": [_ref("#/channels/socket/messages/connect_error")],
            },
        }
    }
    for client in CLIENT_EVENTS:
        ack_name = f"{client.name}_ack"
        events[client.name] = message(
            client.name, f"{client.name} (client)", client.summary, client.payload
        )
        acks[ack_name] = message(
            ack_name, f"{client.name} ack", f"The answer to `{client.name}`.", client.ack
        )
        operations[client.name] = {
            "action": "receive",
            "channel": _ref("#/channels/socket"),
            "summary": client.summary,
            "messages": [_ref(f"#/channels/socket/messages/{client.name}")],
            "reply": {
                "channel": _ref("#/channels/ack"),
                "messages": [
                    _ref(f"#/channels/ack/messages/{client.name}_ack"),
                    _ref("#/channels/ack/messages/error_ack"),
                ],
            },
        }
    for server in SERVER_EVENTS:
        key = f"on_{server.name}"
        events[key] = message(
            server.name, f"{server.name} (server)", server.summary, server.payload
        )
        operations[key] = {
            "action": "send",
            "channel": _ref("#/channels/socket"),
            "summary": server.summary,
            "description": f"Sent to: {server.to}.",
            "messages": [_ref(f"#/channels/socket/messages/{key}")],
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "chat_server Socket.IO protocol",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "servers": {
            "local": {
                "host": "localhost:8000",
                "protocol": "ws",
                "pathname": "/socket.io/",
                "description": "Socket.IO (Engine.IO 4) over WebSocket, or HTTP long-polling "
                "as a fallback; the same port as the REST API.",
            }
        },
        "defaultContentType": "application/json",
        "channels": {
            "socket": {
                "address": "/",
                "title": "Socket.IO namespace /",
                "description": "Every event, both ways. A message's `name` is the Socket.IO "
                "event name; the keys only tell a client's `typing` from the server's.",
                "messages": events,
            },
            "ack": {
                "address": None,
                "title": "Acknowledgements",
                "description": "The ack callback of the event being answered.",
                "messages": acks,
            },
        },
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a literal block, readable in the file as written here."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def asyncapi_yaml() -> str:
    return yaml.dump(
        build_asyncapi(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88
    )

"""Malformed edits, deletes and reactions: a validation_error ack or a 422 (not_found /
404 for a chat or message that is not there), and nothing changes."""

from typing import Any

import pytest

from tests.support.api import private_chat, react, send
from tests.support.db import rows

CHAT = "CHAT"
HUGE = 2**70
TABLES = ("chats", "messages", "reactions")

COMMON = {  # bad chat and seq values every event refuses
    "not an object": (None, "validation_error"),
    "a list": ([1], "validation_error"),
    "missing chat_id": ({"seq": 1}, "validation_error"),
    "missing seq": ({"chat_id": CHAT}, "validation_error"),
    "chat_id a string": ({"chat_id": "1", "seq": 1}, "validation_error"),
    "seq a string": ({"chat_id": CHAT, "seq": "1"}, "validation_error"),
    "seq a float": ({"chat_id": CHAT, "seq": 1.5}, "validation_error"),
    "seq negative": ({"chat_id": CHAT, "seq": -1}, "validation_error"),
    "seq zero": ({"chat_id": CHAT, "seq": 0}, "validation_error"),
    "seq huge": ({"chat_id": CHAT, "seq": HUGE}, "validation_error"),
    "chat_id huge": ({"chat_id": HUGE, "seq": 1}, "validation_error"),
    "unknown chat": ({"chat_id": 999999, "seq": 1}, "not_found"),
    "unknown seq": ({"chat_id": CHAT, "seq": 99}, "not_found"),
    "extra field": ({"chat_id": CHAT, "seq": 1, "x": 1}, "validation_error"),
}
TEXT = "fixed"
BAD = {
    "edit_message": {
        **{
            name: ({**payload, "text": TEXT} if isinstance(payload, dict) else payload, code)
            for name, (payload, code) in COMMON.items()
        },
        "missing text": ({"chat_id": CHAT, "seq": 1}, "validation_error"),
        "text not a string": ({"chat_id": CHAT, "seq": 1, "text": 5}, "validation_error"),
        "blank text": ({"chat_id": CHAT, "seq": 1, "text": "  "}, "validation_error"),
        "text over 4096": ({"chat_id": CHAT, "seq": 1, "text": "x" * 4097}, "validation_error"),
        "NUL in text": ({"chat_id": CHAT, "seq": 1, "text": "a\x00b"}, "validation_error"),
    },
    "delete_message": COMMON,
    "react": {
        **{
            name: ({**payload, "emoji": "👍"} if isinstance(payload, dict) else payload, code)
            for name, (payload, code) in COMMON.items()
        },
        "missing emoji": ({"chat_id": CHAT, "seq": 1}, "validation_error"),
        "emoji not allowed": ({"chat_id": CHAT, "seq": 1, "emoji": "💩"}, "validation_error"),
        "two emoji": ({"chat_id": CHAT, "seq": 1, "emoji": "👍👍"}, "validation_error"),
        "emoji a number": ({"chat_id": CHAT, "seq": 1, "emoji": 1}, "validation_error"),
        "emoji text": ({"chat_id": CHAT, "seq": 1, "emoji": "like"}, "validation_error"),
    },
}
REST_BAD: list[tuple[str, str, Any, int]] = [
    ("PATCH", "/chats/{chat}/messages/1", {"text": ""}, 422),
    ("PATCH", "/chats/{chat}/messages/1", {"text": "x" * 4097}, 422),
    ("PATCH", "/chats/{chat}/messages/1", {}, 422),
    ("PATCH", "/chats/{chat}/messages/1", {"text": 5}, 422),
    ("PATCH", "/chats/{chat}/messages/0", {"text": TEXT}, 422),
    ("PATCH", "/chats/{chat}/messages/-1", {"text": TEXT}, 422),
    ("PATCH", f"/chats/{{chat}}/messages/{HUGE}", {"text": TEXT}, 422),
    ("PATCH", "/chats/{chat}/messages/abc", {"text": TEXT}, 422),
    ("PATCH", "/chats/999999/messages/1", {"text": TEXT}, 404),
    ("DELETE", "/chats/{chat}/messages/0", None, 422),
    ("DELETE", "/chats/{chat}/messages/99", None, 404),
    ("DELETE", "/chats/999999/messages/1", None, 404),
    ("PUT", "/chats/{chat}/messages/1/reaction", {}, 422),
    ("PUT", "/chats/{chat}/messages/1/reaction", {"emoji": None}, 422),
    ("PUT", "/chats/{chat}/messages/1/reaction", {"emoji": "💩"}, 422),
    ("PUT", "/chats/{chat}/messages/-5/reaction", {"emoji": "👍"}, 422),
    ("PUT", "/chats/{chat}/messages/99/reaction", {"emoji": "👍"}, 404),
    ("DELETE", "/chats/{chat}/messages/99/reaction", None, 404),
    ("POST", "/chats/{chat}/messages", {"text": "re", "reply_to_seq": 0}, 422),
    ("POST", "/chats/{chat}/messages", {"text": "re", "reply_to_seq": "1"}, 422),
    ("POST", "/chats/{chat}/messages", {"text": "re", "reply_to_seq": HUGE}, 422),
]


async def _snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await rows(database_url, f"SELECT * FROM {table} ORDER BY 1")]
        for table in TABLES
    }


def _filled(payload: Any, chat_id: int) -> Any:
    if isinstance(payload, dict):
        return {k: (chat_id if v == CHAT else v) for k, v in payload.items()}
    return payload


@pytest.mark.parametrize("event", list(BAD))
async def test_bad_payloads_are_refused_and_change_nothing(
    event, http, users, connect, database_url
):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    await send(http, alice, chat_id, "hello")
    await react(http, alice, chat_id, 1, "👍")
    tab = await connect(alice)
    before = await _snapshot(database_url)

    for name, (payload, code) in BAD[event].items():
        ack = await tab.call(event, _filled(payload, chat_id))
        assert ack["ok"] is False, (name, ack)
        assert ack["error"]["code"] == code, (name, ack)
    assert tab.sio.connected
    assert await _snapshot(database_url) == before
    assert tab.received["message_updated"] == []


async def test_bad_rest_requests_are_refused_and_change_nothing(http, users, database_url):
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    await send(http, alice, chat_id, "hello")
    before = await _snapshot(database_url)
    for method, path, body, status in REST_BAD:
        response = await http.request(
            method, path.format(chat=chat_id), json=body, headers=alice.headers
        )
        assert response.status_code == status, (method, path, body, response.text)
    assert await _snapshot(database_url) == before

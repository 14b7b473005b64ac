"""Users, chats and messages made through the public REST API, as clients make them."""

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct horse battery"


@dataclass
class TestUser:
    id: int
    name: str
    email: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)

    __test__ = False  # not a test class


async def register(client: httpx.AsyncClient, name: str, email: str | None = None) -> TestUser:
    """Register and log in; unless given, the email is unique and derived from the name
    (whatever the name holds)."""
    email = (
        email
        or f"{re.sub(r'[^a-z0-9]', '', name.lower()) or 'user'}-{uuid.uuid4().hex[:8]}@example.com"
    )
    response = await client.post(
        "/auth/register", json={"name": name, "email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return TestUser(
        id=user_id,
        name=name,
        email=email,
        token=token,
        headers={"Authorization": f"Bearer {token}"},
    )


async def private_chat(client: httpx.AsyncClient, a: TestUser, b: TestUser) -> int:
    response = await client.post("/chats/private", json={"user_id": b.id}, headers=a.headers)
    assert response.status_code in (200, 201), response.text
    chat_id: int = response.json()["id"]
    return chat_id


async def group(
    client: httpx.AsyncClient, creator: TestUser, members: list[TestUser], name: str = "Team"
) -> dict[str, Any]:
    response = await client.post(
        "/groups",
        json={"name": name, "member_ids": [m.id for m in members]},
        headers=creator.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send(
    client: httpx.AsyncClient,
    user: TestUser,
    chat_id: int,
    text: str,
    client_msg_id: str | None = None,
    reply_to_seq: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if client_msg_id:
        body["client_msg_id"] = client_msg_id
    if reply_to_seq is not None:
        body["reply_to_seq"] = reply_to_seq
    response = await client.post(f"/chats/{chat_id}/messages", json=body, headers=user.headers)
    assert response.status_code in (200, 201), response.text
    message: dict[str, Any] = response.json()
    return message


async def read(client: httpx.AsyncClient, user: TestUser, chat_id: int, seq: int) -> int:
    response = await client.post(f"/chats/{chat_id}/read", json={"seq": seq}, headers=user.headers)
    assert response.status_code == 200, response.text
    last: int = response.json()["last_read_seq"]
    return last


async def edit(
    client: httpx.AsyncClient, user: TestUser, chat_id: int, seq: int, text: str
) -> dict[str, Any]:
    response = await client.patch(
        f"/chats/{chat_id}/messages/{seq}", json={"text": text}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()
    return message


async def delete_message(
    client: httpx.AsyncClient, user: TestUser, chat_id: int, seq: int
) -> dict[str, Any]:
    response = await client.delete(f"/chats/{chat_id}/messages/{seq}", headers=user.headers)
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()
    return message


async def react(
    client: httpx.AsyncClient, user: TestUser, chat_id: int, seq: int, emoji: str | None
) -> dict[str, Any]:
    path = f"/chats/{chat_id}/messages/{seq}/reaction"
    if emoji is None:
        response = await client.delete(path, headers=user.headers)
    else:
        response = await client.put(path, json={"emoji": emoji}, headers=user.headers)
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()
    return message

"""Connecting while the world changes or fails. These run the server in this process
(uvicorn on a free loopback port) so that a test can hand it a presence store: a real
one held at a gate, or a Redis nobody listens on."""

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
import socketio

from chat_server.config import Settings
from chat_server.presence.store import LocalPresence, PresenceStore
from tests.support.api import group, register
from tests.support.servers import FlakyPresence, serving
from tests.support.sockets import RecordingClient, connected


class GatedPresence(LocalPresence):
    """LocalPresence whose `connected` waits at a gate: it stands for a slow Redis round
    trip in the middle of a connect, after the socket's chats were read."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()

    async def connected(self, user_id: int, sid: str) -> bool:
        self.reached.set()
        await self.gate.wait()
        return await super().connected(user_id, sid)


@pytest.fixture
def serve(settings: Settings, database_url: str) -> Callable[[PresenceStore], object]:
    return lambda presence: serving(settings, database_url, presence)


async def test_a_user_removed_while_their_socket_connects_gets_nothing_more(serve):
    presence = GatedPresence()
    async with serve(presence) as url, httpx.AsyncClient(base_url=url) as http:
        alice, bob = await register(http, "Alice"), await register(http, "Bob")
        team = await group(http, alice, [bob])
        presence.gate.set()
        alice_socket = await connected(url, alice.token)
        presence.gate.clear()
        presence.reached.clear()

        # Bob's socket has read his chats (the group among them) and waits at the gate.
        bob_socket = RecordingClient()
        connecting = asyncio.create_task(bob_socket.connect(url, bob.token))
        await asyncio.wait_for(presence.reached.wait(), timeout=10)
        removed = await http.delete(f"/groups/{team['id']}/members/{bob.id}", headers=alice.headers)
        assert removed.status_code == 204
        presence.gate.set()
        await connecting
        try:
            sent = await alice_socket.call(
                "send_message",
                {
                    "chat_id": team["chat_id"],
                    "text": "after bob left",
                    "client_msg_id": str(uuid.uuid4()),
                },
            )
            assert sent["ok"] is True
            typed = await alice_socket.call("typing", {"chat_id": team["chat_id"]})
            assert typed["ok"] is True
            # Bob's later private chat still reaches him: the socket itself works.
            opened = await http.post(
                "/chats/private", json={"user_id": bob.id}, headers=alice.headers
            )
            await bob_socket.wait_for("chat_joined")
            await alice_socket.call(
                "send_message",
                {
                    "chat_id": opened.json()["id"],
                    "text": "private",
                    "client_msg_id": str(uuid.uuid4()),
                },
            )
            got = await bob_socket.wait_for("message")
            assert [m["text"] for m in got] == ["private"]
            assert bob_socket.received["typing"] == []
        finally:
            await alice_socket.disconnect()
            await bob_socket.disconnect()


async def test_a_connect_that_fails_inside_the_server_is_refused_not_left_hanging(serve):
    # (A Redis that is down no longer fails a connect: presence falls back to this
    # process's own connections. A store that breaks all the same still must not hang it.)
    broken = FlakyPresence(failures=1)
    async with serve(broken) as url, httpx.AsyncClient(base_url=url) as http:
        alice = await register(http, "Alice")
        client = socketio.AsyncClient(reconnection=False)
        refusals: list[object] = []
        client.on("connect_error", handler=refusals.append)
        started = asyncio.get_running_loop().time()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                url, auth={"token": alice.token}, transports=["websocket"], wait_timeout=10
            )
        assert refusals == [{"message": "internal"}]
        # Answered at once, not after the client gave up waiting.
        assert asyncio.get_running_loop().time() - started < 5
        # The server is still fine for REST.
        assert (await http.get("/users/me", headers=alice.headers)).status_code == 200

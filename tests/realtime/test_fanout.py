"""A batch of messages reaches each member's socket in seq order, written in a few
wake-ups of its writer rather than one per message (realtime/fanout.py)."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from engineio.async_socket import AsyncSocket

from chat_server.config import Settings
from chat_server.presence.store import LocalPresence
from tests.support.api import group, register
from tests.support.db import chat_rows_held, rows
from tests.support.servers import serving
from tests.support.sockets import connected

BURST = 60


class WriterWakeups:
    """Counts, per engine.io session, how often its writer took packets off its queue
    and how many it took: the real AsyncSocket.poll, observed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wakeups: Counter[str] = Counter()
        self.packets: Counter[str] = Counter()
        poll = AsyncSocket.poll

        async def observed_poll(socket: AsyncSocket) -> Any:
            taken = await poll(socket)
            self.wakeups[socket.sid] += 1
            self.packets[socket.sid] += len(taken or [])
            return taken

        monkeypatch.setattr(AsyncSocket, "poll", observed_poll)


async def test_a_batch_reaches_each_member_in_order_in_a_few_writer_wakeups(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers = WriterWakeups(monkeypatch)
    async with (
        serving(settings, database_url, LocalPresence()) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        alice, bob, carol = [await register(http, n) for n in ("Alice", "Bob", "Carol")]
        chat_id = (await group(http, alice, [bob, carol]))["chat_id"]
        members = [await connected(url, user.token) for user in (bob, carol)]

        # A rival holds the chat row, so the sends queue up in the chat's lane and
        # are stored (and published) as one batch once it lets go.
        async with chat_rows_held(database_url, [chat_id]):
            sending = asyncio.gather(
                *(
                    http.post(
                        f"/chats/{chat_id}/messages",
                        json={"text": f"m{i}", "client_msg_id": str(uuid.uuid4())},
                        headers=alice.headers,
                    )
                    for i in range(BURST)
                )
            )
            await asyncio.sleep(1.0)  # every request is in the lane by now
            assert not sending.done(), "the sends should wait for the chat row"
        responses = await sending
        assert all(r.status_code == 201 for r in responses), [r.text for r in responses]

        for member in members:
            await member.wait_for("message", lambda got: len(got) >= BURST)
        await asyncio.sleep(0.2)  # anything sent twice would have arrived by now
        stored = await rows(
            database_url, "SELECT id FROM messages WHERE chat_id = $1 ORDER BY seq", chat_id
        )
        for member in members:
            seqs = [m["seq"] for m in member.received["message"]]
            assert seqs == list(range(1, BURST + 1)), "each message once, in seq order"
            assert [m["id"] for m in member.received["message"]] == [r["id"] for r in stored]
            sid = member.sio.eio.sid
            # One wake-up per message is what emitting a task per recipient gave.
            assert writers.packets[sid] >= BURST
            assert writers.wakeups[sid] * 4 <= writers.packets[sid], (
                f"{writers.wakeups[sid]} wake-ups for {writers.packets[sid]} packets"
            )
        for member in members:
            await member.disconnect()

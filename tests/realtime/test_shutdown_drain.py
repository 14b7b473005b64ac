"""SIGTERM under load drains: every message that was stored was acked to its sender before
the connections closed, the rest were refused or saw the disconnect at once; nobody waits
out the ack timeout."""

import asyncio
import signal
import time
import uuid
from pathlib import Path

import httpx

from tests.support.api import group, register
from tests.support.db import rows
from tests.support.servers import server_process
from tests.support.sockets import connected

SENDERS = 8
ACK_TIMEOUT = 20.0


async def test_sigterm_under_load_acks_every_stored_send_or_disconnects_at_once(
    database_url: str, tmp_path: Path
) -> None:
    outcomes: dict[str, tuple[str, float]] = {}  # client_msg_id -> (outcome, seconds)
    with server_process(database_url, tmp_path, SHUTDOWN_GRACE_SECONDS="3") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            members = [await register(http, f"User {i}") for i in range(SENDERS)]
            chat_id = (await group(http, members[0], members[1:]))["chat_id"]
        clients = [await connected(server.base_url, m.token) for m in members]

        async def keep_sending(client) -> None:
            gone = asyncio.Event()
            client.sio.on("disconnect", handler=lambda *args: gone.set())
            while not gone.is_set():
                msg_id = str(uuid.uuid4())
                payload = {"chat_id": chat_id, "text": "load", "client_msg_id": msg_id}
                started = time.monotonic()
                call = asyncio.ensure_future(client.call("send_message", payload, ACK_TIMEOUT))
                closed = asyncio.ensure_future(gone.wait())
                await asyncio.wait({call, closed}, return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
                if call.done() and call.exception() is None:
                    ack = call.result()
                    outcome = "acked" if ack["ok"] else ack["error"]["code"]
                else:
                    call.cancel()
                    outcome = "disconnected"
                outcomes[msg_id] = (outcome, time.monotonic() - started)

        load = [asyncio.ensure_future(keep_sending(c)) for c in clients]
        await asyncio.sleep(1.0)
        stopped_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*load), ACK_TIMEOUT)
        all_gone = time.monotonic() - stopped_at
        await asyncio.to_thread(server.process.wait, 15)
    stored = {
        str(r["client_msg_id"])
        for r in await rows(database_url, "SELECT client_msg_id FROM messages")
    }
    unanswered = [i for i in stored if outcomes.get(i, ("missing",))[0] != "acked"]
    waited = [o for o in outcomes.values() if o[1] > ACK_TIMEOUT / 2]
    kinds = sorted({o[0] for o in outcomes.values()})
    print(
        f"{len(outcomes)} sends, {len(stored)} stored, outcomes {kinds};"
        f" every client done {all_gone:.2f}s after SIGTERM"
    )
    # Sends in flight at SIGTERM finish and are acked before the connections close (those
    # that arrive during the drain are refused `unavailable`, and stored nowhere).
    assert unanswered == [], [outcomes.get(i) for i in unanswered]
    assert waited == []
    assert all_gone < 8

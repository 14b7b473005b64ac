"""Expected failures do not flood the log: garbage frames and a database outage log a
line per kind and interval, never a traceback each."""

import asyncio
import contextlib
import json
import uuid
from pathlib import Path

import httpx
import websockets
from sqlalchemy.engine import make_url

from tests.support.api import private_chat, register
from tests.support.servers import free_port, server_process
from tests.support.sockets import connected
from tests.support.tcp_relay import TcpRelay

GARBAGE = [
    "4",
    "4x",
    "42",
    "42[",
    "42[1]",
    "42{}",
    '42["send_message"',
    "43abc",
    "49",
    "4-1",
    '41/nowhere,["x"]',
    '42/nowhere,["x"]',
    "45",
    "451-",
    '451-["x",{"_placeholder":true,"num":0}]',
    "7",
    "x",
    "",
]


def problems(log: Path) -> list[str]:
    """The log's lines above INFO, and every traceback line."""
    lines = log.read_text(errors="replace").splitlines()
    return [
        line for line in lines if line.startswith(("WARNING", "ERROR", "CRITICAL", "Traceback"))
    ]


async def garbage_session(ws_url: str, token: str, frames: list[str]) -> None:
    async with websockets.connect(ws_url) as ws:
        await ws.recv()  # Engine.IO open
        await ws.send("40" + json.dumps({"token": token}))
        await ws.recv()  # Socket.IO connect
        for frame in frames:
            await ws.send(frame)
        await ws.send(b"\x00\xff\xfe garbage")
        await asyncio.sleep(0.2)


async def test_garbage_frames_log_a_line_per_kind_not_a_traceback_each(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with server_process(database_url, tmp_path, log=log) as server:
        ws_url = server.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            alice = await register(http, "Alice")
            for _ in range(10):
                # The server may drop a connection that speaks garbage.
                with contextlib.suppress(websockets.ConnectionClosed):
                    await garbage_session(ws_url, alice.token, GARBAGE * 5)
            # The server is fine afterwards.
            client = await connected(server.base_url, alice.token)
            await client.disconnect()
    found = problems(log)
    assert not [line for line in found if line.startswith("Traceback")], found
    assert len(found) <= 10, found


async def test_a_database_outage_logs_a_few_lines_not_a_traceback_per_request(
    database_url: str, tmp_path: Path
) -> None:
    url = make_url(database_url)
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):  # embedded PostgreSQL
        relay = TcpRelay(
            port=free_port(), target_socket=f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
        )
    else:
        relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432, free_port())
    await relay.restore()
    relayed = (
        url.difference_update_query(["host"])
        .set(host="127.0.0.1", port=relay.port)
        .render_as_string(hide_password=False)
    )
    log = tmp_path / "server.log"
    stack = contextlib.ExitStack()
    try:
        # Started from a thread: the relay serves its connections in this event loop.
        server = await asyncio.to_thread(
            stack.enter_context, server_process(relayed, tmp_path, log=log)
        )
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            alice, bob = await register(http, "Alice"), await register(http, "Bob")
            chat_id = await private_chat(http, alice, bob)
            tabs = [await connected(server.base_url, alice.token) for _ in range(5)]
            try:
                await relay.cut()  # PostgreSQL unreachable: every request fails fast
                acks = await asyncio.gather(
                    *(
                        tab.call(
                            "send_message",
                            {
                                "chat_id": chat_id,
                                "text": "x",
                                "client_msg_id": str(uuid.uuid4()),
                            },
                        )
                        for tab in tabs
                        for _ in range(40)
                    )
                )
                answers = await asyncio.gather(
                    *(http.get(f"/history/{chat_id}", headers=alice.headers) for _ in range(50))
                )
                refused = 0
                for _ in range(20):
                    try:
                        await connected(server.base_url, bob.token)
                    except Exception:
                        refused += 1
            finally:
                for tab in tabs:
                    await tab.disconnect()
                await relay.restore()
    finally:
        await asyncio.to_thread(stack.close)
        await relay.cut()
    assert {ack["error"]["code"] for ack in acks} == {"unavailable"}, acks[:3]
    assert {answer.status_code for answer in answers} == {503}
    assert refused == 20
    found = problems(log)
    print(f"{len(acks) + len(answers) + refused} failed requests, {len(found)} log lines")
    assert not [line for line in found if line.startswith("Traceback")], found
    assert len(found) <= 10, found

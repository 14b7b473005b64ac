"""A client that stops reading cannot make the server hold its traffic without bound: it
is disconnected within seconds, the server's memory stays bounded, and the other members
of its busy group keep their latency."""

import asyncio
import base64
import json
import os
import socket
import statistics
import struct
import time
import uuid
from pathlib import Path

import httpx
import psutil

from tests.support.api import group, register
from tests.support.servers import server_process
from tests.support.sockets import connected

TEXT = "x" * 4000  # big messages fill the stalled connection's buffers quickly


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])  # FIN, text
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stalled_client(base_url: str, token: str) -> socket.socket:
    """A Socket.IO client over a raw WebSocket that connects, then never reads a byte
    (with a tiny receive buffer, so the server's side fills up soon)."""
    port = int(base_url.rsplit(":", 1)[1])
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += raw.recv(1)  # only the handshake's headers, byte by byte
    assert response.startswith(b"HTTP/1.1 101"), response
    raw.sendall(_masked_text_frame("40" + json.dumps({"token": token})))
    return raw


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


async def test_a_client_that_stops_reading_is_disconnected_and_others_keep_their_latency(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with server_process(
        database_url,
        tmp_path,
        log=log,
        LOG_LEVEL="info",
        SOCKET_SEND_TIMEOUT_SECONDS="2",
        SOCKET_MAX_QUEUED_PACKETS="200",
    ) as server:
        server_memory = psutil.Process(server.process.pid)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            alice, bob, mallory = [await register(http, n) for n in ("Alice", "Bob", "Mallory")]
            chat_id = (await group(http, alice, [bob, mallory]))["chat_id"]
            sender = await connected(server.base_url, alice.token)
            watcher = await connected(server.base_url, bob.token)
            stalled = await asyncio.to_thread(stalled_client, server.base_url, mallory.token)
            await watcher.wait_for(
                "presence", lambda p: any(e["user_id"] == mallory.id and e["online"] for e in p)
            )
            seen = len(watcher.received["presence"])

            async def timed_send(text: str) -> float:
                started = time.monotonic()
                payload = {"chat_id": chat_id, "text": text, "client_msg_id": str(uuid.uuid4())}
                ack = await sender.call("send_message", payload, within=30)
                assert ack["ok"], ack
                return time.monotonic() - started

            try:
                baseline = [await timed_send("before") for _ in range(20)]
                rss_before = server_memory.memory_info().rss
                flood_started = time.monotonic()
                gone_after = None
                for _ in range(80):  # bursts of a busy group
                    await asyncio.gather(*(timed_send(TEXT) for _ in range(40)))
                    offline = [
                        e
                        for e in watcher.received["presence"][seen:]
                        if e["user_id"] == mallory.id and not e["online"]
                    ]
                    if offline and gone_after is None:
                        gone_after = time.monotonic() - flood_started
                        break
                rss_after = server_memory.memory_info().rss
                after = [await timed_send("after") for _ in range(20)]
            finally:
                await sender.disconnect()
                await watcher.disconnect()
                stalled.close()
    print(
        f"stalled client dropped after {gone_after}s; RSS +{(rss_after - rss_before) / 2**20:.1f}"
        f" MB; ack p99 before {p99(baseline) * 1000:.0f} ms, after {p99(after) * 1000:.0f} ms"
    )
    assert gone_after is not None and gone_after < 15, "the stalled client was never dropped"
    assert rss_after - rss_before < 60 * 2**20
    assert p99(after) < max(0.5, 5 * p99(baseline))


async def test_a_silent_peer_in_a_quiet_chat_is_dropped_by_the_ping_timeout(
    database_url: str, tmp_path: Path
) -> None:
    """A client that answers no ping (and reads nothing) is dropped after the ping
    interval plus the ping timeout, though nothing else is sent to it."""
    with server_process(
        database_url,
        tmp_path,
        SOCKET_PING_INTERVAL_SECONDS="1",
        SOCKET_PING_TIMEOUT_SECONDS="1",
    ) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            bob, mallory = [await register(http, n) for n in ("Bob", "Mallory")]
            await group(http, bob, [mallory])
            watcher = await connected(server.base_url, bob.token)
            silent = await asyncio.to_thread(stalled_client, server.base_url, mallory.token)
            try:
                await watcher.wait_for(
                    "presence",
                    lambda p: any(e["user_id"] == mallory.id and e["online"] for e in p),
                )
                seen = len(watcher.received["presence"])
                started = time.monotonic()
                await watcher.wait_for(
                    "presence",
                    lambda p: any(e["user_id"] == mallory.id and not e["online"] for e in p[seen:]),
                    within=15,
                )
                dropped_after = time.monotonic() - started
            finally:
                await watcher.disconnect()
                silent.close()
    print(f"silent peer dropped {dropped_after:.1f}s after it connected")
    assert dropped_after < 6

"""Load-generator worker processes: python-socketio AsyncClients over the websocket transport.

Each worker is a separate OS process (multiprocessing, spawn) with its own asyncio loop, so
the clients are not throttled by the parent's GIL. Workers talk to the parent through a
multiprocessing Queue (results) and Events (start / release).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any, TypeVar

import socketio

CONNECT_TIMEOUT = 15.0
ACK_TIMEOUT = 10.0
# After the send window, keep listening until deliveries stop for this long (bounded).
DRAIN_QUIET = 0.5
DRAIN_MAX = 8.0
T = TypeVar("T")


@dataclass(frozen=True)
class Member:
    user_id: int
    token: str
    chat_id: int


@dataclass
class LoadResult:
    worker: int
    clients: int
    connect_errors: int = 0
    window_start: float = 0.0  # time.time() when sending began
    window_end: float = 0.0  # time.time() when the last ack came back
    acked_ids: list[int] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)  # messages from others only
    deliveries: int = 0  # every `message` event, own messages included
    per_message: Counter[int] = field(default_factory=Counter)  # message id -> sockets
    errors: Counter[str] = field(default_factory=Counter)


async def _connect(base_url: str, token: str) -> socketio.AsyncClient:
    # No reconnection: a dropped socket must show up as an error, not be papered over.
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        base_url,
        auth={"token": token},
        transports=["websocket"],
        socketio_path="socket.io",
        wait_timeout=CONNECT_TIMEOUT,
    )
    return sio


class LoadClient:
    """One member: sends with ack as fast as acks return; records what it receives."""

    def __init__(self, member: Member, result: LoadResult) -> None:
        self.member = member
        self.result = result
        self.sio: socketio.AsyncClient | None = None

    def on_message(self, data: Any) -> None:
        now = time.time()
        result = self.result
        result.deliveries += 1
        result.per_message[data["id"]] += 1
        if data["sender_id"] != self.member.user_id:
            # The text is "bench <send time>": send -> delivery across processes.
            sent = float(data["text"].split()[1])
            result.delivery_ms.append((now - sent) * 1000)

    async def connect(self, base_url: str) -> None:
        self.sio = await _connect(base_url, self.member.token)
        self.sio.on("message", handler=self.on_message)

    async def send_until(self, deadline: float) -> None:
        assert self.sio is not None
        result = self.result
        while time.monotonic() < deadline:
            sent = time.time()
            payload = {
                "chat_id": self.member.chat_id,
                "text": f"bench {sent!r}",
                "client_msg_id": str(uuid.uuid4()),
            }
            try:
                ack = await self.sio.call("send_message", payload, timeout=ACK_TIMEOUT)
            except socketio.exceptions.TimeoutError:
                result.errors["ack_timeout"] += 1
                continue
            except socketio.exceptions.BadNamespaceError:
                result.errors["disconnected"] += 1
                return
            done = time.time()
            if isinstance(ack, dict) and ack.get("ok"):
                result.acked_ids.append(ack["message"]["id"])
                result.ack_ms.append((done - sent) * 1000)
                result.window_end = max(result.window_end, done)
            else:
                code = ack.get("error", {}).get("code") if isinstance(ack, dict) else None
                result.errors[f"ack_error:{code}"] += 1


def _run(main: Coroutine[Any, Any, T]) -> T:
    """uvloop when installed (uvicorn[standard] brings it), as the server uses: the load
    generator shares the machine with what it measures, so it should cost little."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def _wait_event(event: Event, seconds: float) -> bool:
    return await asyncio.to_thread(event.wait, seconds)


async def _run_load(
    worker: int,
    base_url: str,
    members: list[Member],
    seconds: float,
    ready: Queue[Any],
    go: Event,
) -> LoadResult:
    result = LoadResult(worker=worker, clients=len(members))
    clients = [LoadClient(member, result) for member in members]
    outcomes = await asyncio.gather(
        *(client.connect(base_url) for client in clients), return_exceptions=True
    )
    connected = [c for c, o in zip(clients, outcomes, strict=True) if o is None]
    result.connect_errors = len(clients) - len(connected)
    ready.put(("ready", worker, len(connected)))
    try:
        if not await _wait_event(go, seconds=60):
            result.errors["no_start_signal"] += 1
            return result
        result.window_start = time.time()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client.send_until(deadline) for client in connected))
        # Let in-flight broadcasts arrive; stop once nothing new comes (bounded).
        drain_end = time.monotonic() + DRAIN_MAX
        seen = -1
        while seen != result.deliveries and time.monotonic() < drain_end:
            seen = result.deliveries
            await asyncio.sleep(DRAIN_QUIET)
    finally:
        await asyncio.gather(
            *(c.sio.disconnect() for c in connected if c.sio is not None), return_exceptions=True
        )
    return result


def load_worker(
    worker: int,
    base_url: str,
    members: list[Member],
    seconds: float,
    results: Queue[Any],
    go: Event,
) -> None:
    """Process entry point: connect, wait for `go`, send for `seconds`, report."""
    try:
        result = _run(_run_load(worker, base_url, members, seconds, results, go))
        results.put(("result", worker, result))
    except BaseException as exc:  # the parent must hear about it rather than wait
        results.put(("failed", worker, repr(exc)))


async def _run_idle(
    worker: int,
    base_url: str,
    tokens: list[str],
    concurrency: int,
    status: Queue[Any],
    release: Event,
    hold_max: float,
) -> None:
    gate = asyncio.Semaphore(concurrency)  # don't stampede the server's accept queue

    async def open_one(token: str) -> socketio.AsyncClient:
        async with gate:
            return await _connect(base_url, token)

    outcomes = await asyncio.gather(*(open_one(t) for t in tokens), return_exceptions=True)
    sockets = [o for o in outcomes if isinstance(o, socketio.AsyncClient)]
    errors = Counter(type(o).__name__ for o in outcomes if isinstance(o, BaseException))
    status.put(("connected", worker, len(sockets), dict(errors)))
    try:
        await _wait_event(release, seconds=hold_max)
        still = sum(1 for s in sockets if s.connected)
        status.put(("held", worker, still))
    finally:

        async def close(sio: socketio.AsyncClient) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await sio.disconnect()

        await asyncio.gather(*(close(s) for s in sockets))


def idle_worker(
    worker: int,
    base_url: str,
    tokens: list[str],
    concurrency: int,
    status: Queue[Any],
    release: Event,
    hold_max: float,
) -> None:
    """Process entry point: open one socket per token, hold them until `release`."""
    try:
        _run(_run_idle(worker, base_url, tokens, concurrency, status, release, hold_max))
        status.put(("done", worker))
    except BaseException as exc:
        status.put(("failed", worker, repr(exc)))

"""Load-generator worker processes on the lean client (bench/eio.py).

Each worker is its own process (spawn) with a uvloop loop, holding a share of the clients:

- closed loop: each client sends `send_message` with an ack and the next one when the ack
  is back, for `warmup + seconds`; only the last `seconds` are counted;
- open loop: each client sends on a fixed schedule (`rate` messages/s over all clients,
  a random phase per client), whatever the acks do; latency runs from the scheduled time,
  so a server that falls behind cannot hide it.

The text carries the send time, so receivers measure send -> delivery. Every `message`
event is counted per message id, so the parent can check that each acked message reached
every member's socket exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from bench.clients import DRAIN_MAX, DRAIN_QUIET, Member, _run, _wait_event
from bench.eio import Socket

ACK_TIMEOUT = 10.0


@dataclass
class LeanResult:
    clients: int = 0
    connect_errors: int = 0
    counted: int = 0  # acks that came back inside the measured window
    window: float = 0.0
    acked_ids: list[int] = field(default_factory=list)  # every ack, warm-up included
    ack_ms: list[float] = field(default_factory=list)  # sends inside the window
    delivery_ms: list[float] = field(default_factory=list)  # from others, inside the window
    deliveries: int = 0
    per_message: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Plan:
    mode: str  # "closed" or "open"
    seconds: float
    warmup: float
    rate: float = 0.0  # open loop: messages/s over all clients of all workers
    total_clients: int = 0
    deflate: bool = False


class Client:
    def __init__(self, member: Member, result: LeanResult, window: list[float]) -> None:
        self.member = member
        self.result = result
        self.window = window  # [start, end] in time.time(), shared by the worker
        self.sock: Socket | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def on_event(self, event: str, data: Any) -> None:
        if event != "message":
            return
        now = time.time()
        result = self.result
        result.deliveries += 1
        result.per_message[data["id"]] += 1
        if data["sender_id"] != self.member.user_id:
            sent = float(data["text"].split()[1])
            if self.window[0] <= sent < self.window[1]:
                result.delivery_ms.append((now - sent) * 1000)

    async def send(self, sent: float) -> None:
        assert self.sock is not None
        result = self.result
        payload = {
            "chat_id": self.member.chat_id,
            "text": f"bench {sent!r}",
            "client_msg_id": str(uuid.uuid4()),
        }
        try:
            ack = await self.sock.call("send_message", payload, wait=ACK_TIMEOUT)
        except TimeoutError:
            result.errors["ack_timeout"] += 1
            return
        except ConnectionError:
            result.errors["disconnected"] += 1
            return
        done = time.time()
        if not (isinstance(ack, dict) and ack.get("ok")):
            code = ack.get("error", {}).get("code") if isinstance(ack, dict) else None
            result.errors[f"ack_error:{code}"] += 1
            return
        result.acked_ids.append(ack["message"]["id"])
        if self.window[0] <= sent < self.window[1]:
            result.ack_ms.append((done - sent) * 1000)
        if self.window[0] <= done < self.window[1]:
            result.counted += 1

    async def closed_loop(self, end: float) -> None:
        while time.time() < end and not self.sock.closed.is_set():  # type: ignore[union-attr]
            await self.send(time.time())

    async def open_loop(self, start: float, end: float, interval: float) -> None:
        due = start + random.uniform(0, interval)
        while due < end:
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.send(due))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
            due += interval
        if self.pending:
            await asyncio.wait(self.pending, timeout=ACK_TIMEOUT + 1)


async def _run_load(
    worker: int, base_url: str, members: list[Member], plan: Plan, ready: Queue[Any], go: Event
) -> LeanResult:
    result = LeanResult(clients=len(members))
    window = [float("inf"), float("inf")]
    clients = [Client(m, result, window) for m in members]
    gate = asyncio.Semaphore(50)

    async def connect(client: Client) -> None:
        async with gate:
            client.sock = await Socket.open(
                base_url, client.member.token, client.on_event, deflate=plan.deflate
            )

    outcomes = await asyncio.gather(*(connect(c) for c in clients), return_exceptions=True)
    connected = [c for c, o in zip(clients, outcomes, strict=True) if o is None]
    result.connect_errors = len(clients) - len(connected)
    ready.put(("ready", worker, len(connected)))
    try:
        if not await _wait_event(go, seconds=120):
            result.errors["no_start_signal"] += 1
            return result
        start = time.time()
        window[:] = [start + plan.warmup, start + plan.warmup + plan.seconds]
        result.window = plan.seconds
        if plan.mode == "closed":
            await asyncio.gather(*(c.closed_loop(window[1]) for c in connected))
        else:
            interval = plan.total_clients / plan.rate
            await asyncio.gather(*(c.open_loop(start, window[1], interval) for c in connected))
        # Let in-flight broadcasts arrive; stop once nothing new comes (bounded).
        drain_end = time.monotonic() + DRAIN_MAX
        seen = -1
        while seen != result.deliveries and time.monotonic() < drain_end:
            seen = result.deliveries
            await asyncio.sleep(DRAIN_QUIET)
    finally:
        await asyncio.gather(*(c.sock.close() for c in connected if c.sock is not None))
    return result


def load_worker(
    worker: int,
    base_url: str,
    members: list[Member],
    plan: Plan,
    results: Queue[Any],
    go: Event,
) -> None:
    """Process entry point: connect, wait for `go`, send as planned, report."""
    try:
        result = _run(_run_load(worker, base_url, members, plan, results, go))
        results.put(("result", worker, result))
    except BaseException as exc:  # the parent must hear about it rather than wait
        results.put(("failed", worker, repr(exc)))


async def _run_idle(
    worker: int,
    base_url: str,
    tokens: list[str],
    deflate: bool,
    status: Queue[Any],
    release: Event,
    hold_max: float,
) -> None:
    # Don't stampede the server: each connect takes database connections from its pool.
    gate = asyncio.Semaphore(25)

    async def open_one(token: str) -> Socket:
        async with gate:
            return await Socket.open(base_url, token, deflate=deflate)

    outcomes = await asyncio.gather(*(open_one(t) for t in tokens), return_exceptions=True)
    sockets = [o for o in outcomes if isinstance(o, Socket)]
    errors = Counter(type(o).__name__ for o in outcomes if isinstance(o, BaseException))
    status.put(("connected", worker, len(sockets), dict(errors)))
    try:
        await _wait_event(release, seconds=hold_max)
        still = sum(1 for s in sockets if not s.closed.is_set())
        status.put(("held", worker, still))
    finally:

        async def close(sock: Socket) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await sock.close()

        await asyncio.gather(*(close(s) for s in sockets))


def idle_worker(
    worker: int,
    base_url: str,
    tokens: list[str],
    deflate: bool,
    status: Queue[Any],
    release: Event,
    hold_max: float,
) -> None:
    """Process entry point: open one socket per token, hold them until `release`."""
    try:
        _run(_run_idle(worker, base_url, tokens, deflate, status, release, hold_max))
        status.put(("done", worker))
    except BaseException as exc:
        status.put(("failed", worker, repr(exc)))

"""Sends and reads in one chat, per process: handled in batches, announced in order.

The chat row lock serialises every send and every read in a chat, so one statement per
request would cap a busy chat at one round trip per message, and per read. Instead each
chat has two lanes: while one statement runs, the requests that arrive queue up, and the
next statement handles them all. A lane's worker announces each batch (messages in seq
order, then read receipts) before it takes the next one, so the sockets of this process
hear a chat's messages in order.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.events import MessageSent, Publisher, ReadReceipt
from chat_server.messages import read_status, store

MAX_BATCH = 100
logger = logging.getLogger(__name__)

Request = TypeVar("Request")
Result = TypeVar("Result")
Batch = Callable[[list[Request]], Awaitable[list[Result | Exception]]]


class _Lane(Generic[Request, Result]):
    """Queues requests; one worker at a time hands everything queued to `handle`."""

    def __init__(self, handle: Batch[Request, Result]) -> None:
        self._handle = handle
        self._queue: list[tuple[Request, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    def submit(self, request: Request) -> asyncio.Future[Result]:
        waiter: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((request, waiter))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())
            _workers.add(self._worker)
            self._worker.add_done_callback(_workers.discard)
        return waiter

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._run(batch)
        finally:
            self._worker = None
            # Only left over when the worker was cancelled: nobody may wait for ever.
            waiting, self._queue = self._queue, []
            _fail(waiting, RuntimeError("interrupted"))

    async def _run(self, batch: list[tuple[Request, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._handle([request for request, _ in batch])
        except BaseException as exc:
            # Cancelled (shutdown) or a bug: no caller may wait for ever.
            _fail(batch, exc if isinstance(exc, Exception) else RuntimeError("interrupted"))
            raise
        for (_, waiter), result in zip(batch, results, strict=True):
            if waiter.done():
                continue
            if isinstance(result, Exception):
                waiter.set_exception(result)
            else:
                waiter.set_result(result)


def _fail(batch: Sequence[tuple[object, asyncio.Future[Result]]], exc: Exception) -> None:
    for _, waiter in batch:
        if not waiter.done():
            waiter.set_exception(exc)


async def _settle_alone(
    requests: list[Request], handle_one: Callable[[Request], Awaitable[Result]]
) -> list[Result | Exception]:
    """After a batch failed as a whole: each request alone, errors stay with theirs."""
    results: list[Result | Exception] = []
    for request in requests:
        try:
            results.append(await handle_one(request))
        except Exception as exc:
            results.append(exc)
    return results


async def _announce(publisher: Publisher, event: MessageSent | ReadReceipt) -> None:
    # Done is done: a failed announcement must not fail the request (a sender would
    # retry and get a duplicate that is never broadcast either). Whoever missed it
    # catches up with `sync`, history or the chat's watermarks.
    try:
        await publisher.publish(event)
    except Exception:
        logger.exception("announcing %s in chat %s failed", type(event).__name__, event.chat_id)


def _send_batch(
    engine: AsyncEngine, publisher: Publisher, chat_id: int
) -> Batch[store.Send, store.Outcome]:
    async def settle_alone(
        sends: list[store.Send], stored_ids: set[int] | None = None
    ) -> list[store.Outcome | Exception]:
        return await _settle_alone(
            sends,
            lambda send: store.store_one(engine, chat_id=chat_id, send=send, stored_ids=stored_ids),
        )

    async def handle(sends: list[store.Send]) -> list[store.Outcome | Exception]:
        results: list[store.Outcome | Exception]
        try:
            results = list(await store.store_batch(engine, chat_id=chat_id, sends=sends))
        except store.CommitUncertain as exc:
            # Perhaps stored, perhaps not: settled alone, what the batch did store is
            # still announced (once), so no member misses it.
            results = _first_is_new(await settle_alone(sends, exc.stored_ids))
        except Exception:
            results = await settle_alone(sends)  # the batch was undone
        new = sorted(
            (r.message for r in results if isinstance(r, store.Outcome) and r.is_new and r.message),
            key=lambda message: message.seq,
        )
        for message in new:
            await _announce(
                publisher, MessageSent(chat_id=chat_id, message=message.model_dump(mode="json"))
            )
        return results

    return handle


def _first_is_new(results: list[store.Outcome | Exception]) -> list[store.Outcome | Exception]:
    """Two sends of one id in a batch found the same message: only the first is new."""
    seen: set[int] = set()
    kept: list[store.Outcome | Exception] = []
    for result in results:
        if isinstance(result, store.Outcome) and result.is_new and result.message:
            message_id = result.message.id
            if message_id in seen:
                result = replace(result, is_new=False)
            seen.add(message_id)
        kept.append(result)
    return kept


def _read_batch(
    engine: AsyncEngine, publisher: Publisher, chat_id: int
) -> Batch[read_status.Read, read_status.WatermarkMove | None]:
    async def move_one(read: read_status.Read) -> read_status.WatermarkMove | None:
        return (await read_status.move_watermarks(engine, chat_id=chat_id, reads=[read]))[0]

    async def handle(
        reads: list[read_status.Read],
    ) -> list[read_status.WatermarkMove | Exception | None]:
        results: list[read_status.WatermarkMove | Exception | None]
        try:
            results = list(await read_status.move_watermarks(engine, chat_id=chat_id, reads=reads))
        except Exception:
            results = await _settle_alone(reads, move_one)
        moves = [r for r in results if isinstance(r, read_status.WatermarkMove) and r.moved]
        seen: set[int] = set()
        for move in moves:
            # One user's reads in a batch share one move; settled alone, each is its own.
            if id(move) in seen:
                continue
            seen.add(id(move))
            await _announce(
                publisher,
                ReadReceipt(
                    chat_id=chat_id,
                    user_id=move.user_id,
                    last_read_seq=move.current,
                    newly_read=move.newly_read,
                ),
            )
        return results

    return handle


# Strong references: the event loop keeps only weak ones to running tasks.
_workers: set[asyncio.Task[None]] = set()
# A lane lives while requests use it; the key holds the engine and publisher it uses.
LaneKey = tuple[int, int, int]
ReadResult = read_status.WatermarkMove | None
_send_lanes: weakref.WeakValueDictionary[LaneKey, _Lane[store.Send, store.Outcome]] = (
    weakref.WeakValueDictionary()
)
_read_lanes: weakref.WeakValueDictionary[LaneKey, _Lane[read_status.Read, ReadResult]] = (
    weakref.WeakValueDictionary()
)


async def store_and_broadcast(
    engine: AsyncEngine, publisher: Publisher, chat_id: int, send: store.Send
) -> store.Outcome:
    """Store `send` in the chat's next batch; returns once its batch is broadcast."""
    key = (id(engine), id(publisher), chat_id)
    lane = _send_lanes.get(key)
    if lane is None:
        lane = _send_lanes[key] = _Lane(_send_batch(engine, publisher, chat_id))
    return await lane.submit(send)


async def move_and_announce(
    engine: AsyncEngine, publisher: Publisher, chat_id: int, read: read_status.Read
) -> ReadResult:
    """Move a watermark in the chat's next batch of reads; returns once it is announced.
    None when the reader is not a member of the chat."""
    key = (id(engine), id(publisher), chat_id)
    lane = _read_lanes.get(key)
    if lane is None:
        lane = _read_lanes[key] = _Lane(_read_batch(engine, publisher, chat_id))
    return await lane.submit(read)

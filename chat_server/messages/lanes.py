"""Each chat's sends, changes and reads in one server process: handled in batches,
published in order.

The chat row lock serialises every send and every read in a chat, so one transaction
per request would cap a busy chat at one round trip per message, and per read. Instead
each chat has a lane per kind of request: while one batch's transaction runs, the
requests that arrive queue up, and the next transaction handles them all. A lane
publishes each batch (new messages in seq order; read receipts, then what became read)
before it takes the next, so the sockets of this process hear a chat's messages in order.

Changes to stored messages (edit, delete, reaction) share the sends' lane: both take
the chat's pts, and one lane publishing in commit order is what makes `message` and
`message_updated` reach this process's sockets in pts order. Each change takes a
transaction of its own.

A run of sends goes one step further: every chat's runs pass through one more lane, the
process's store lane, which runs at most STORE_TRANSACTIONS transactions at once; the
runs of all the chats that arrive while those are under way are stored in the next one
together (one call locks the chats and stores their sends: three round trips with BEGIN
and COMMIT). Spread over many quiet chats, sends seldom wait for their own chat, and a
transaction per send cost four round trips each; together they share them. A shared
transaction takes only the chat rows that are free: a chat whose row another
transaction holds is stored on its own, in its own lane, waiting for the row, so one
busy chat never holds up the others.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.events import MessageSent, MessagesRead, MessageUpdated, Publisher, ReadReceipt
from chat_server.faults import is_timeout
from chat_server.messages.changes import apply_change
from chat_server.messages.outcomes import (
    Change,
    Changed,
    ChangeOutcome,
    Duplicate,
    Read,
    ReadOutcome,
    Refused,
    Send,
    SendOutcome,
    Stored,
    WatermarkMove,
)
from chat_server.messages.read_status import apply_reads
from chat_server.messages.store import look_up_send, store_sends, store_sends_in_free_chats

MAX_BATCH = 100
# Transactions the store lane runs at once. More than one, so that a transaction held up
# (a chat row another process holds, a COMMIT being looked up) does not hold up every
# chat; few, so that the runs that arrive meanwhile share the next one.
STORE_TRANSACTIONS = 2
# Chats' runs per shared transaction (each run up to MAX_BATCH sends).
STORE_BATCH = 20
logger = logging.getLogger(__name__)

# What a chat's message lane takes and answers: an Exception is raised to its requester.
MessageRequest = Send | Change
MessageOutcome = SendOutcome | ChangeOutcome | Exception
# What the store lane takes: a chat's run of sends; and answers: one outcome per send.
ChatSends = tuple[int, list[Send]]

Request = TypeVar("Request")
Outcome = TypeVar("Outcome")
Handle = Callable[[list[Request]], Awaitable[Sequence[Outcome]]]
_Waiting = list[tuple[Request, asyncio.Future[Outcome]]]


class Lane(Generic[Request, Outcome]):
    """A queue with at most `max_workers` workers (one keeps the order), each handing
    everything queued (up to MAX_BATCH) to `handle`: one outcome per request. A batch
    that fails as a whole is handled again one request at a time, so an error stays
    with the request that caused it."""

    def __init__(
        self,
        handle: Handle[Request, Outcome],
        *,
        workers: set[asyncio.Task[None]],
        on_idle: Callable[[], object],
        max_workers: int = 1,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._handle = handle
        self._workers = workers
        self._on_idle = on_idle
        self._max_workers = max_workers
        self._max_batch = max_batch
        self._queue: _Waiting[Request, Outcome] = []
        self._running = 0

    def submit(self, request: Request) -> asyncio.Future[Outcome]:
        waiter: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((request, waiter))
        if self._running < self._max_workers:
            self._running += 1
            worker = asyncio.create_task(self._drain())
            self._workers.add(worker)  # the loop keeps only weak references
            worker.add_done_callback(self._workers.discard)
        return waiter

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                self._queue = self._queue[self._max_batch :]
                await self._run(batch)
        finally:
            self._running -= 1
            if self._running == 0:
                # Only left over when the worker was cancelled: nobody may wait for ever.
                waiting, self._queue = self._queue, []
                _fail(waiting, RuntimeError("interrupted"))
                self._on_idle()

    def abandon(self) -> None:
        """Fail whatever still waits (at shutdown, once the workers are cancelled: one
        cancelled before it first ran never reached its own cleanup)."""
        self._running = 0
        waiting, self._queue = self._queue, []
        _fail(waiting, RuntimeError("interrupted"))

    async def _run(self, batch: _Waiting[Request, Outcome]) -> None:
        requests = [request for request, _ in batch]
        try:
            try:
                outcomes: Sequence[Outcome | Exception] = await self._handle(requests)
            except Exception as exc:
                # A database that did not answer in time fails every request alike:
                # trying each alone would make the last one wait len(batch) timeouts.
                if is_timeout(exc):
                    outcomes = [exc for _ in requests]
                else:
                    outcomes = [await self._alone(request) for request in requests]
        except BaseException:  # cancelled (shutdown): no caller may wait for ever
            _fail(batch, RuntimeError("interrupted"))
            raise
        for (_, waiter), outcome in zip(batch, outcomes, strict=True):
            if waiter.done():
                continue
            if isinstance(outcome, Exception):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)

    async def _alone(self, request: Request) -> Outcome | Exception:
        try:
            [outcome] = await self._handle([request])
        except Exception as exc:
            return exc
        return outcome


def _fail(batch: _Waiting[Request, Outcome], exc: Exception) -> None:
    for _, waiter in batch:
        if not waiter.done():
            waiter.set_exception(exc)


class ChatLanes:
    """The lanes of one server process (Runtime owns it): each chat's sends, and each
    chat's reads. A lane lives while requests use it."""

    def __init__(self, engine: AsyncEngine, publisher: Publisher) -> None:
        self._engine = engine
        self._publisher = publisher
        self._workers: set[asyncio.Task[None]] = set()
        self._messages: dict[int, Lane[MessageRequest, MessageOutcome]] = {}
        self._reads: dict[int, Lane[Read, ReadOutcome]] = {}
        self._stores: Lane[ChatSends, list[SendOutcome] | None] = Lane(
            lambda runs: store_sends_in_free_chats(engine, runs),
            workers=self._workers,
            on_idle=lambda: None,
            max_workers=STORE_TRANSACTIONS,
            max_batch=STORE_BATCH,
        )

    async def send(self, chat_id: int, send: Send) -> SendOutcome:
        """Store `send` in the chat's next batch; returns once that batch is published."""
        outcome = await self._lane(self._messages, chat_id, self._message_batch).submit(send)
        assert not isinstance(outcome, Changed | Exception)  # a Send's outcome
        return outcome

    async def change(self, chat_id: int, change: Change) -> ChangeOutcome:
        """Apply `change` in the chat's next batch; returns once it is published."""
        outcome = await self._lane(self._messages, chat_id, self._message_batch).submit(change)
        assert isinstance(outcome, Changed | Refused)  # a Change's outcome
        return outcome

    async def read(self, chat_id: int, read: Read) -> ReadOutcome:
        """Move a watermark in the chat's next batch of reads; returns once published."""
        return await self._lane(self._reads, chat_id, self._read_batch).submit(read)

    async def look_up(self, chat_id: int, send: Send) -> Duplicate | Refused | None:
        """What `send` would be answered, without storing it (nor waiting in a lane)."""
        return await look_up_send(
            self._engine,
            chat_id=chat_id,
            sender_id=send.sender_id,
            client_msg_id=send.client_msg_id,
        )

    def _lane(
        self,
        lanes: dict[int, Lane[Request, Outcome]],
        chat_id: int,
        handle: Callable[[int, list[Request]], Awaitable[Sequence[Outcome]]],
    ) -> Lane[Request, Outcome]:
        lane = lanes.get(chat_id)
        if lane is None:
            lane = lanes[chat_id] = Lane(
                lambda batch: handle(chat_id, batch),
                workers=self._workers,
                on_idle=lambda: lanes.pop(chat_id, None),
            )
        return lane

    async def close(self) -> None:
        """Stop every lane (at shutdown): whoever still waits gets an error."""
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for lanes in (self._messages.values(), self._reads.values(), [self._stores]):
            for lane in lanes:
                lane.abandon()

    async def _message_batch(
        self, chat_id: int, requests: list[MessageRequest]
    ) -> list[MessageOutcome]:
        """Each run of sends in one transaction, each change in one of its own, in the
        order they came; each published before the next starts."""
        outcomes: list[MessageOutcome] = []
        start = 0
        while start < len(requests):
            request = requests[start]
            if isinstance(request, Send):
                end = start
                while end < len(requests) and isinstance(requests[end], Send):
                    end += 1
                sends = [r for r in requests[start:end] if isinstance(r, Send)]
                outcomes.extend(await self._send_batch(chat_id, sends))
                start = end
            else:
                outcomes.append(await self._change(chat_id, request))
                start += 1
        return outcomes

    async def _send_batch(self, chat_id: int, sends: list[Send]) -> list[MessageOutcome]:
        outcomes: Sequence[MessageOutcome]
        try:
            shared = await self._stores.submit((chat_id, sends))
            # Not taken in the shared transaction (its row was busy): on its own, waiting.
            if shared is None:
                shared = await store_sends(self._engine, chat_id=chat_id, sends=sends)
            outcomes = shared
        except Exception as exc:
            if len(sends) == 1 or is_timeout(exc):
                return [exc for _ in sends]
            # The batch failed as a whole: one at a time, an error stays with its send.
            outcomes = [await self._send_alone(chat_id, send) for send in sends]
        stored = [outcome.message for outcome in outcomes if isinstance(outcome, Stored)]
        for message in sorted(stored, key=lambda message: message.seq):
            await self._publish(
                MessageSent(chat_id=chat_id, message=message.model_dump(mode="json"))
            )
        return list(outcomes)

    async def _send_alone(self, chat_id: int, send: Send) -> MessageOutcome:
        try:
            [outcome] = await store_sends(self._engine, chat_id=chat_id, sends=[send])
        except Exception as exc:
            return exc
        return outcome

    async def _change(self, chat_id: int, change: Change) -> MessageOutcome:
        try:
            outcome = await apply_change(self._engine, chat_id=chat_id, change=change)
        except Exception as exc:
            return exc
        if isinstance(outcome, Changed) and outcome.changed:
            await self._publish(
                MessageUpdated(chat_id=chat_id, message=outcome.message.model_dump(mode="json"))
            )
        return outcome

    async def _read_batch(self, chat_id: int, reads: list[Read]) -> list[ReadOutcome]:
        batch = await apply_reads(self._engine, chat_id=chat_id, reads=reads)
        if isinstance(batch, Refused):
            return [batch for _ in reads]
        outcomes: list[ReadOutcome] = [batch.moves.get(read.user_id, Refused()) for read in reads]
        moved = {o.user_id: o for o in outcomes if isinstance(o, WatermarkMove) and o.moved}
        for move in moved.values():
            await self._publish(
                ReadReceipt(chat_id=chat_id, user_id=move.user_id, last_read_seq=move.current)
            )
        for newly_read in batch.newly_read:
            await self._publish(newly_read)
        return outcomes

    async def _publish(
        self, event: MessageSent | MessageUpdated | ReadReceipt | MessagesRead
    ) -> None:
        # Done is done: a failed publish must not fail the request (a sender would retry
        # and get a duplicate that is never published either). Whoever missed it catches
        # up with `sync`, history or the chat's watermarks.
        try:
            await self._publisher.publish(event)
        except Exception:
            logger.exception("publishing %s in chat %s failed", type(event).__name__, event.chat_id)

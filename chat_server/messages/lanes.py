"""Sends into one chat, per process: stored in batches and broadcast in seq order.

The chat row lock serialises every send into a chat, so one statement per message would
cap a busy chat at one round trip per message. Instead each chat has a lane: while one
statement runs, the sends that arrive queue up, and the next statement stores them all.
The lane's worker broadcasts each batch, in seq order, before it stores the next one, so
the sockets of this process hear a chat's messages in order.
"""

import asyncio
import logging
import weakref

from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.events import MessageSent, Publisher
from chat_server.messages import store
from chat_server.messages.schemas import MessageOut

MAX_BATCH = 100
Waiter = asyncio.Future[store.Outcome]
logger = logging.getLogger(__name__)


class _Lane:
    def __init__(self, engine: AsyncEngine, publisher: Publisher, chat_id: int) -> None:
        self._engine = engine
        self._publisher = publisher
        self._chat_id = chat_id
        self._queue: list[tuple[store.Send, Waiter]] = []
        self._worker: asyncio.Task[None] | None = None

    def submit(self, send: store.Send) -> Waiter:
        future: Waiter = asyncio.get_running_loop().create_future()
        self._queue.append((send, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())
            _workers.add(self._worker)
            self._worker.add_done_callback(_workers.discard)
        return future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._store_and_broadcast(batch)
        finally:
            self._worker = None
            # Only left over when the worker was cancelled: nobody may wait for ever.
            waiting, self._queue = self._queue, []
            for _, waiter in waiting:
                if not waiter.done():
                    waiter.set_exception(RuntimeError("send interrupted"))

    async def _store_and_broadcast(self, batch: list[tuple[store.Send, Waiter]]) -> None:
        try:
            results = await self._store(batch)
            new = sorted(
                (
                    r.message
                    for r in results
                    if isinstance(r, store.Outcome) and r.is_new and r.message
                ),
                key=lambda message: message.seq,
            )
            for message in new:
                await self._broadcast(message)
            for (_, waiter), result in zip(batch, results, strict=True):
                if waiter.done():
                    continue
                if isinstance(result, store.Outcome):
                    waiter.set_result(result)
                else:
                    waiter.set_exception(result)
        except BaseException as exc:
            # Cancelled (shutdown) or a bug: no sender may wait for ever.
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError("send interrupted")
                    )
            raise

    async def _store(
        self, batch: list[tuple[store.Send, Waiter]]
    ) -> list[store.Outcome | Exception]:
        sends = [send for send, _ in batch]
        try:
            return list(await store.store_batch(self._engine, chat_id=self._chat_id, sends=sends))
        except Exception:
            pass  # the statement was undone: settle each send alone, errors stay with theirs
        results: list[store.Outcome | Exception] = []
        for send in sends:
            try:
                results.append(
                    await store.store_one(self._engine, chat_id=self._chat_id, send=send)
                )
            except Exception as exc:
                results.append(exc)
        return results

    async def _broadcast(self, message: MessageOut) -> None:
        # Stored is stored: a failed broadcast must not fail the send (its sender would
        # retry and get a duplicate that is never broadcast either). Members who missed
        # it fetch it with `sync` or history.
        try:
            await self._publisher.publish(
                MessageSent(chat_id=self._chat_id, message=message.model_dump(mode="json"))
            )
        except Exception:
            logger.exception("broadcast of message %s in chat %s failed", message.id, self._chat_id)


# Strong references: the event loop keeps only weak ones to running tasks.
_workers: set[asyncio.Task[None]] = set()
# A lane lives while sends use it; the key holds the engine and publisher it writes with.
_lanes: weakref.WeakValueDictionary[tuple[int, int, int], _Lane] = weakref.WeakValueDictionary()


async def store_and_broadcast(
    engine: AsyncEngine, publisher: Publisher, chat_id: int, send: store.Send
) -> store.Outcome:
    """Store `send` in the chat's next batch; returns once its batch is broadcast."""
    key = (id(engine), id(publisher), chat_id)
    lane = _lanes.get(key)
    if lane is None:
        lane = _lanes[key] = _Lane(engine, publisher, chat_id)
    return await lane.submit(send)

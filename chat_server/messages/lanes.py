"""Sends into one chat, per process: stored in batches and broadcast in seq order.

The chat row lock serialises every send into a chat, so one statement per message would
cap a busy chat at one round trip per message. Instead each chat has a lane: while one
statement runs, the sends that arrive queue up, and the next statement stores them all.
The lane's worker broadcasts each batch, in seq order, before it stores the next one, so
the sockets of this process hear a chat's messages in order.
"""

import asyncio
import weakref

from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.events import MessageSent, Publisher
from chat_server.messages import store

MAX_BATCH = 100


class _Lane:
    def __init__(self, engine: AsyncEngine, publisher: Publisher, chat_id: int) -> None:
        self._engine = engine
        self._publisher = publisher
        self._chat_id = chat_id
        self._queue: list[tuple[store.Send, asyncio.Future[store.Outcome]]] = []
        self._worker: asyncio.Task[None] | None = None

    def submit(self, send: store.Send) -> asyncio.Future[store.Outcome]:
        future: asyncio.Future[store.Outcome] = asyncio.get_running_loop().create_future()
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

    async def _store_and_broadcast(
        self, batch: list[tuple[store.Send, asyncio.Future[store.Outcome]]]
    ) -> None:
        try:
            outcomes = await store.store_batch(
                self._engine, chat_id=self._chat_id, sends=[send for send, _ in batch]
            )
            new = sorted(
                (o.message for o in outcomes if o.is_new and o.message is not None),
                key=lambda message: message.seq,
            )
            for message in new:
                await self._publisher.publish(
                    MessageSent(chat_id=self._chat_id, message=message.model_dump(mode="json"))
                )
        except Exception as exc:
            # Each sender hears of it and may retry with the same id: nothing doubles.
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


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

"""The runs of sends of different chats that wait at the same time are stored in one
transaction (messages/lanes.py, the store lane): each run keeps its own outcome, one run
that fails does not take the others with it, and two processes storing into the same
chats at once never deadlock."""

import asyncio
import uuid

import httpx
from fastapi import FastAPI

from chat_server.db import make_engine
from chat_server.events import RecordingPublisher
from chat_server.messages.lanes import STORE_TRANSACTIONS, ChatLanes
from chat_server.messages.outcomes import Duplicate, NoSuchReply, Refused, Send, Stored
from chat_server.messages.store import store_sends_in_chats
from tests.support.api import TestUser, group, register
from tests.support.db import chat_rows_held, rows


async def _chats(client: httpx.AsyncClient, count: int) -> tuple[TestUser, list[int]]:
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    chat_ids = [(await group(client, alice, [bob], f"g{i}"))["chat_id"] for i in range(count)]
    return alice, chat_ids


def _send(lanes: ChatLanes, user: TestUser, chat_id: int, text: str) -> asyncio.Task[object]:
    return asyncio.create_task(lanes.send(chat_id, Send(user.id, text, uuid.uuid4())))


async def _one_transaction_each(
    lanes: ChatLanes, user: TestUser, chat_ids: list[int]
) -> list[asyncio.Task[object]]:
    """A send into each chat, each taken up by a transaction of its own before the next
    is submitted (a transaction takes every run queued when it starts)."""
    sends = []
    for chat_id in chat_ids:
        sends.append(_send(lanes, user, chat_id, "first"))
        await asyncio.sleep(0.2)
    return sends


async def _deadlocks(database_url: str) -> int:
    """Deadlocks PostgreSQL has detected in this database (the closed connections' too)."""
    await asyncio.sleep(0.2)  # a backend that just exited reports its counts as it goes
    [row] = await rows(
        database_url, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    )
    return int(row["deadlocks"])


async def _writers(database_url: str) -> dict[int, set[str]]:
    """Each chat's messages, by the transactions that stored them (xmin)."""
    found: dict[int, set[str]] = {}
    for row in await rows(database_url, "SELECT chat_id, xmin::text AS x FROM messages"):
        found.setdefault(row["chat_id"], set()).add(row["x"])
    return found


async def test_runs_that_wait_together_are_stored_in_one_transaction(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    alice, chat_ids = await _chats(client, STORE_TRANSACTIONS + 3)
    held, waiting = chat_ids[:STORE_TRANSACTIONS], chat_ids[STORE_TRANSACTIONS:]
    lanes = ChatLanes(app.state.runtime.engine, RecordingPublisher())
    try:
        async with chat_rows_held(database_url, held):
            # Every transaction the store lane may run waits for a held chat ...
            first = await _one_transaction_each(lanes, alice, held)
            # ... so these three chats' runs queue up behind them.
            later = [_send(lanes, alice, chat_id, f"into {chat_id}") for chat_id in waiting]
            await asyncio.sleep(0.3)
            assert not any(task.done() for task in first + later)
        outcomes = await asyncio.wait_for(asyncio.gather(*first, *later), timeout=10)
    finally:
        await lanes.close()

    assert all(isinstance(o, Stored) and o.message.seq == 1 for o in outcomes), outcomes
    writers = await _writers(database_url)
    assert len({x for chat_id in waiting for x in writers[chat_id]}) == 1, writers
    assert len({x for chat_id in held for x in writers[chat_id]}) == STORE_TRANSACTIONS


async def test_a_run_that_fails_leaves_the_runs_stored_with_it_to_succeed(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    alice, chat_ids = await _chats(client, STORE_TRANSACTIONS + 3)
    held, waiting = chat_ids[:STORE_TRANSACTIONS], chat_ids[STORE_TRANSACTIONS:]
    broken = waiting[1]
    lanes = ChatLanes(app.state.runtime.engine, RecordingPublisher())
    try:
        async with chat_rows_held(database_url, held):
            first = await _one_transaction_each(lanes, alice, held)
            # PostgreSQL refuses a NUL in text (the service's check is skipped here): the
            # transaction these runs share fails as a whole.
            later = [
                _send(lanes, alice, chat_id, "nul \x00" if chat_id == broken else "fine")
                for chat_id in waiting
            ]
            await asyncio.sleep(0.3)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*first, *later, return_exceptions=True), timeout=10
        )
    finally:
        await lanes.close()

    by_chat = dict(zip(held + waiting, outcomes, strict=True))
    assert isinstance(by_chat.pop(broken), Exception)
    assert all(isinstance(o, Stored) and o.message.seq == 1 for o in by_chat.values()), by_chat
    stored = await rows(database_url, "SELECT chat_id FROM messages ORDER BY chat_id")
    assert [r["chat_id"] for r in stored] == sorted(by_chat)


async def test_two_processes_storing_into_the_same_chats_never_deadlock(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Each process's transactions lock several chats (in ascending id order): two of
    them sending into the same chats at once must both get through, every time."""
    alice, chat_ids = await _chats(client, 6)
    engines = [make_engine(database_url, pool_size=4) for _ in range(2)]
    processes = [ChatLanes(engine, RecordingPublisher()) for engine in engines]
    rounds = 15
    deadlocks_before = await _deadlocks(database_url)
    try:
        sends = [
            _send(lanes, alice, chat_id, f"{n} {i}")
            for i in range(rounds)
            # The two processes go through the chats in opposite orders.
            for n, lanes in enumerate(processes)
            for chat_id in (chat_ids if n == 0 else chat_ids[::-1])
        ]
        outcomes = await asyncio.wait_for(asyncio.gather(*sends), timeout=60)
    finally:
        for lanes in processes:
            await lanes.close()
        for engine in engines:
            await engine.dispose()

    assert all(isinstance(o, Stored) for o in outcomes)
    # A deadlock would only have cost a retry: PostgreSQL's count tells.
    assert await _deadlocks(database_url) == deadlocks_before
    for chat_id in chat_ids:
        seqs = await rows(
            database_url, "SELECT seq FROM messages WHERE chat_id = $1 ORDER BY seq", chat_id
        )
        assert [r["seq"] for r in seqs] == list(range(1, 2 * rounds + 1))


async def test_each_chat_of_a_shared_transaction_keeps_its_own_answers(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """One transaction, four chats: seqs are numbered per chat, a chat with no member
    among its senders is refused (and not locked), a reply must name a message of its
    own chat, and an id used in two chats stores the first send only."""
    alice, bob, mallory = [await register(client, n) for n in ("Alice", "Bob", "Mallory")]
    first, second, third, closed = [
        (await group(client, alice, [bob], name))["chat_id"] for name in "abcd"
    ]
    engine = make_engine(database_url, pool_size=2)
    try:
        [[earlier]] = await store_sends_in_chats(
            engine, [(first, [Send(alice.id, "before", uuid.uuid4())])]
        )
        assert isinstance(earlier, Stored)
        reused = uuid.uuid4()
        answers = await store_sends_in_chats(
            engine,
            [
                (third, [Send(bob.id, "to the third", reused)]),
                (
                    first,
                    [
                        Send(alice.id, "one", uuid.uuid4()),
                        Send(bob.id, "answers before", uuid.uuid4(), reply_to_seq=1),
                    ],
                ),
                (closed, [Send(mallory.id, "let me in", uuid.uuid4())]),
                (
                    second,
                    [
                        Send(bob.id, "to the second", reused),
                        Send(alice.id, "answers nothing here", uuid.uuid4(), reply_to_seq=1),
                    ],
                ),
            ],
        )
    finally:
        await engine.dispose()

    to_third, to_first, to_closed, to_second = answers
    assert isinstance(to_third[0], Stored) and to_third[0].message.seq == 1
    assert [type(o) for o in to_first] == [Stored, Stored]
    assert [o.message.seq for o in to_first if isinstance(o, Stored)] == [2, 3]
    reply = to_first[1]
    assert isinstance(reply, Stored) and reply.message.reply_to is not None
    assert reply.message.reply_to.text == "before"
    assert to_closed == [Refused()]
    # The id went to the third chat first (the order given), so here it is a duplicate
    # of that message; and the second chat has no message 1 to answer.
    duplicate, no_reply = to_second
    assert isinstance(duplicate, Duplicate) and duplicate.message.chat_id == third
    assert isinstance(no_reply, NoSuchReply)
    stored = await rows(database_url, "SELECT chat_id, seq, pts FROM messages")
    assert sorted((r["chat_id"], r["seq"], r["pts"]) for r in stored) == sorted(
        [(first, 1, 1), (first, 2, 2), (first, 3, 3), (third, 1, 1)]
    )

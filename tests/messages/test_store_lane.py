"""The runs of sends of different chats that wait at the same time are stored in one
transaction (messages/lanes.py, the store lane): each run keeps its own outcome, one run
that fails does not take the others with it, a chat whose row another transaction holds
does not hold up the others, and two processes storing into the same chats at once never
deadlock."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from chat_server.db import make_engine
from chat_server.events import MessageSent, RecordingPublisher
from chat_server.messages import store
from chat_server.messages.lanes import STORE_TRANSACTIONS, ChatLanes
from chat_server.messages.outcomes import Duplicate, NoSuchReply, Send, Stored
from chat_server.messages.store import store_sends_in_free_chats
from tests.support.api import TestUser, group, register
from tests.support.db import chat_rows_held, plain_dsn, rows


async def _chats(
    client: httpx.AsyncClient, count: int
) -> tuple[TestUser, TestUser, list[int], list[int]]:
    """Alice and Bob's `count` groups, and STORE_TRANSACTIONS groups of Zed's, whose
    sends the tests hold up to keep the store lane busy."""
    alice, bob, zed = [await register(client, n) for n in ("Alice", "Bob", "Zed")]
    chat_ids = [(await group(client, alice, [bob], f"g{i}"))["chat_id"] for i in range(count)]
    zeds = [
        (await group(client, zed, [bob], f"z{i}"))["chat_id"] for i in range(STORE_TRANSACTIONS)
    ]
    return alice, zed, chat_ids, zeds


def _send(
    lanes: ChatLanes, user: TestUser, chat_id: int, text: str, key: uuid.UUID | None = None
) -> asyncio.Task[object]:
    return asyncio.create_task(lanes.send(chat_id, Send(user.id, text, key or uuid.uuid4())))


@asynccontextmanager
async def _store_lane_busy(
    lanes: ChatLanes, database_url: str, zed: TestUser, zeds: list[int]
) -> AsyncIterator[list[asyncio.Task[object]]]:
    """Every transaction the store lane may run at once is held up (storing a send of
    Zed's, whose user row another transaction holds: the message's foreign key waits
    for it), so the runs sent meanwhile queue up for the next one, until the block ends."""
    rival = await asyncpg.connect(plain_dsn(database_url))
    transaction = rival.transaction()
    await transaction.start()
    try:
        await rival.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", zed.id)
        held = []
        for chat_id in zeds:  # one at a time: a transaction takes every run queued
            held.append(_send(lanes, zed, chat_id, "held up"))
            await asyncio.sleep(0.2)
        yield held
    finally:
        await transaction.rollback()
        await rival.close()


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
    alice, zed, waiting, zeds = await _chats(client, 3)
    lanes = ChatLanes(app.state.runtime.engine, RecordingPublisher())
    try:
        async with _store_lane_busy(lanes, database_url, zed, zeds) as held:
            later = [_send(lanes, alice, chat_id, f"into {chat_id}") for chat_id in waiting]
            await asyncio.sleep(0.3)
            assert not any(task.done() for task in held + later)
        outcomes = await asyncio.wait_for(asyncio.gather(*held, *later), timeout=10)
    finally:
        await lanes.close()

    assert all(isinstance(o, Stored) and o.message.seq == 1 for o in outcomes), outcomes
    writers = await _writers(database_url)
    assert len({x for chat_id in waiting for x in writers[chat_id]}) == 1, writers
    assert len({x for chat_id in zeds for x in writers[chat_id]}) == STORE_TRANSACTIONS


async def test_a_run_that_fails_leaves_the_runs_stored_with_it_to_succeed(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    alice, zed, waiting, zeds = await _chats(client, 3)
    broken = waiting[1]
    lanes = ChatLanes(app.state.runtime.engine, RecordingPublisher())
    try:
        async with _store_lane_busy(lanes, database_url, zed, zeds) as held:
            # PostgreSQL refuses a NUL in text (the service's check is skipped here): the
            # transaction these runs share fails as a whole.
            later = [
                _send(lanes, alice, chat_id, "nul \x00" if chat_id == broken else "fine")
                for chat_id in waiting
            ]
            await asyncio.sleep(0.3)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*held, *later, return_exceptions=True), timeout=10
        )
    finally:
        await lanes.close()

    by_chat = dict(zip(zeds + waiting, outcomes, strict=True))
    assert isinstance(by_chat.pop(broken), Exception)
    assert all(isinstance(o, Stored) and o.message.seq == 1 for o in by_chat.values()), by_chat
    stored = await rows(database_url, "SELECT chat_id FROM messages ORDER BY chat_id")
    assert [r["chat_id"] for r in stored] == sorted(by_chat)


async def test_a_chat_whose_row_is_held_does_not_hold_up_the_chats_it_shares_a_transaction_with(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    """The shared transaction skips the held chat's row (it never waits for one) and
    stores the others; the held chat's run then waits for its row on its own."""
    alice, zed, (busy, free), zeds = await _chats(client, 2)
    lanes = ChatLanes(app.state.runtime.engine, RecordingPublisher())
    try:
        async with chat_rows_held(database_url, [busy]):
            async with _store_lane_busy(lanes, database_url, zed, zeds) as held:
                into_busy = _send(lanes, alice, busy, "waits for its row")
                into_free = _send(lanes, alice, free, "goes through")
                await asyncio.sleep(0.3)
            # The two runs shared the next transaction: the free chat's is stored ...
            stored = await asyncio.wait_for(into_free, timeout=5)
            assert isinstance(stored, Stored)
            await asyncio.sleep(0.3)
            assert not into_busy.done()  # ... while the busy chat's waits for its row
        outcomes = await asyncio.wait_for(asyncio.gather(into_busy, *held), timeout=10)
    finally:
        await lanes.close()

    assert all(isinstance(o, Stored) and o.message.seq == 1 for o in outcomes), outcomes
    writers = await _writers(database_url)
    assert writers[busy] != writers[free]


async def test_a_failure_after_commit_still_publishes_the_stored_messages(
    client: httpx.AsyncClient, app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a duplicate's current state again after COMMIT fails (its own connection,
    which may time out): the batch stands, its new message is answered as new and
    published, and the duplicate is answered as stored before."""
    alice, _, [chat_id], _ = await _chats(client, 1)
    publisher = RecordingPublisher()
    lanes = ChatLanes(app.state.runtime.engine, publisher)
    again = uuid.uuid4()

    async def unavailable(*_: object) -> None:
        raise TimeoutError("no connection to read the duplicates with")

    try:
        first = await _send(lanes, alice, chat_id, "first", again)
        monkeypatch.setattr(store, "_current_duplicates", unavailable)
        repeated, new = await asyncio.gather(
            _send(lanes, alice, chat_id, "first", again), _send(lanes, alice, chat_id, "new")
        )
    finally:
        await lanes.close()

    assert isinstance(first, Stored)
    assert isinstance(repeated, Duplicate) and repeated.message.id == first.message.id
    assert isinstance(new, Stored)
    published = [e.message["id"] for e in publisher.events if isinstance(e, MessageSent)]
    assert published == [first.message.id, new.message.id]


async def test_two_processes_storing_into_the_same_chats_never_deadlock(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Each process's shared transactions lock several chats (only those free: they
    never wait), and a chat they skip is stored in a transaction that waits for its
    row: two processes sending into the same chats at once must both get through,
    every time, with no deadlock and every seq taken once."""
    alice, _, chat_ids, _ = await _chats(client, 6)
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
    among its senders is left to a transaction of its own (None), a reply must name a
    message of its own chat, and an id used in two chats is stored for one send only
    and never answered as new to the other, even when the first send was not stored."""
    alice, bob, mallory = [await register(client, n) for n in ("Alice", "Bob", "Mallory")]
    first, second, third, closed = [
        (await group(client, alice, [bob], name))["chat_id"] for name in "abcd"
    ]
    engine = make_engine(database_url, pool_size=2)
    try:
        [[earlier]] = await store_sends_in_free_chats(
            engine, [(first, [Send(alice.id, "before", uuid.uuid4())])]
        )
        assert isinstance(earlier, Stored)
        reused, unanswered = uuid.uuid4(), uuid.uuid4()
        answers = await store_sends_in_free_chats(
            engine,
            [
                (third, [Send(bob.id, "to the third", reused)]),
                (
                    first,
                    [
                        Send(alice.id, "one", uuid.uuid4()),
                        Send(bob.id, "answers before", uuid.uuid4(), reply_to_seq=1),
                        # Not stored (no message 99 here); the same id below is.
                        Send(alice.id, "answers nothing", unanswered, reply_to_seq=99),
                    ],
                ),
                (closed, [Send(mallory.id, "let me in", uuid.uuid4())]),
                (
                    second,
                    [
                        Send(bob.id, "to the second", reused),
                        Send(alice.id, "answers nothing here", uuid.uuid4(), reply_to_seq=1),
                        Send(alice.id, "stored here", unanswered),
                    ],
                ),
            ],
        )
    finally:
        await engine.dispose()

    to_third, to_first, to_closed, to_second = answers
    assert to_third is not None and to_first is not None and to_second is not None
    assert isinstance(to_third[0], Stored) and to_third[0].message.seq == 1
    one, reply, not_this_one = to_first
    assert isinstance(one, Stored) and one.message.seq == 2
    assert isinstance(reply, Stored) and reply.message.seq == 3
    assert reply.message.reply_to is not None and reply.message.reply_to.text == "before"
    # The id's message is the second chat's: a duplicate here (a conflict for the
    # sender), never a new message of this chat, published into its room.
    assert isinstance(not_this_one, Duplicate) and not_this_one.message.chat_id == second
    assert to_closed is None
    # The id went to the third chat first (the order given), so here it is a duplicate
    # of that message; the second chat has no message 1 to answer.
    duplicate, no_reply, stored_here = to_second
    assert isinstance(duplicate, Duplicate) and duplicate.message.chat_id == third
    assert isinstance(no_reply, NoSuchReply)
    assert isinstance(stored_here, Stored) and stored_here.message.seq == 1
    stored = await rows(database_url, "SELECT chat_id, seq, pts FROM messages")
    assert sorted((r["chat_id"], r["seq"], r["pts"]) for r in stored) == sorted(
        [(first, 1, 1), (first, 2, 2), (first, 3, 3), (second, 1, 1), (third, 1, 1)]
    )


async def test_closing_the_lanes_answers_a_send_no_worker_had_started_on(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """At shutdown a lane's worker may be cancelled before it first ran (and so never
    cleaned up after itself): its sender still hears of it instead of waiting for ever."""
    alice, _, [chat_id], _ = await _chats(client, 1)
    lanes = ChatLanes(app.state.runtime.engine, RecordingPublisher())
    sending = _send(lanes, alice, chat_id, "too late")
    await asyncio.sleep(0)  # the send is queued; the lane's worker has not run yet
    await lanes.close()
    with pytest.raises(RuntimeError, match="interrupted"):
        await asyncio.wait_for(sending, timeout=5)

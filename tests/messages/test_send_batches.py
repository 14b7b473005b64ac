"""Sends into one chat are stored in batches (messages/lanes.py, messages/store.py): each
send still gets its own outcome, and a batch that loses a race is run again."""

import asyncio
import uuid

import asyncpg
import pytest

from chat_server.errors import IdempotencyConflict, NotFound, ValidationFailed
from chat_server.events import MessageSent, RecordingPublisher
from chat_server.messages import service as messages
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.outcomes import Duplicate, Stored
from tests.support.api import TestUser, group, register
from tests.support.db import plain_dsn, rows

SendResult = Stored | Duplicate


def _lanes(app, publisher) -> ChatLanes:
    """The server's lanes, but publishing to `publisher`."""
    return ChatLanes(app.state.runtime.engine, publisher)


async def _send(lanes: ChatLanes, user_id: int, chat_id: int, text: str, key: uuid.UUID):
    return await messages.send_message(
        lanes=lanes,
        rate_limiter=None,
        sender_id=user_id,
        chat_id=chat_id,
        text=text,
        client_msg_id=key,
    )


async def _alice_and_bob_in_a_group(client) -> tuple[TestUser, TestUser, int]:
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    chat_id: int = (await group(client, alice, [bob]))["chat_id"]
    return alice, bob, chat_id


async def _rows(database_url: str) -> list[asyncpg.Record]:
    return await rows(database_url, "SELECT seq, text, created_at FROM messages ORDER BY seq")


async def test_one_batch_settles_new_repeated_refused_and_conflicting_sends(
    client, app, database_url
):
    alice, bob, mallory = [await register(client, n) for n in ("Alice", "Bob", "Mallory")]
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)
    repeated, reused = uuid.uuid4(), uuid.uuid4()
    await _send(lanes, bob.id, chat_id, "from before", reused)
    publisher.events.clear()

    # Started together, these queue up behind one another and are stored in batches.
    outcomes = await asyncio.gather(
        *(_send(lanes, alice.id, chat_id, f"a{i}", uuid.uuid4()) for i in range(20)),
        _send(lanes, bob.id, chat_id, "twice", repeated),
        _send(lanes, bob.id, chat_id, "twice", repeated),
        _send(lanes, mallory.id, chat_id, "let me in", uuid.uuid4()),
        _send(lanes, bob.id, chat_id, "another text", reused),
        return_exceptions=True,
    )

    sent = outcomes[:20]
    assert all(isinstance(o, SendResult) and not o.duplicate for o in sent)
    twice = outcomes[20:22]
    assert all(isinstance(o, SendResult) for o in twice)
    assert sorted(o.duplicate for o in twice) == [False, True]
    assert twice[0].message.id == twice[1].message.id
    assert isinstance(outcomes[22], NotFound)
    assert isinstance(outcomes[23], IdempotencyConflict)

    rows = await _rows(database_url)
    assert [r["seq"] for r in rows] == list(range(1, 23))  # 1 before + 20 + "twice"
    assert sorted(r["text"] for r in rows) == sorted(
        ["from before", "twice", *(f"a{i}" for i in range(20))]
    )
    created = [r["created_at"] for r in rows]
    assert created == sorted(created)
    broadcast = [e.message["seq"] for e in publisher.events if isinstance(e, MessageSent)]
    assert broadcast == list(range(2, 23))  # each new message once, in seq order


@pytest.mark.parametrize("batch_size", [1, 5])
async def test_a_batch_that_loses_a_race_runs_again_and_the_loser_gets_the_winners_message(
    client, app, database_url, batch_size
):
    alice, bob, chat_id = await _alice_and_bob_in_a_group(client)
    contested = uuid.uuid4()
    # Another transaction is inserting `contested` and has not committed yet: the batch's
    # snapshot cannot see it, and its INSERT waits on the unique key.
    rival = await asyncpg.connect(plain_dsn(database_url))
    rival_tx = rival.transaction()
    await rival_tx.start()
    await rival.execute(
        "INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts) "
        "VALUES ($1, $2, 'contested', $3, 1000, 1000)",
        chat_id,
        alice.id,
        contested,
    )
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)
    others = [uuid.uuid4() for _ in range(batch_size - 1)]
    sending = asyncio.gather(
        _send(lanes, alice.id, chat_id, "contested", contested),
        *(_send(lanes, bob.id, chat_id, f"b{i}", key) for i, key in enumerate(others)),
    )
    await asyncio.sleep(0.5)  # the batch is now blocked on the rival's row
    await rival_tx.commit()
    await rival.close()

    contested_result, *other_results = await asyncio.wait_for(sending, timeout=10)

    assert contested_result.duplicate is True
    assert contested_result.message.seq == 1000  # the rival's row
    assert [r.duplicate for r in other_results] == [False] * (batch_size - 1)
    rows = await _rows(database_url)
    assert [r["seq"] for r in rows] == [*range(1, batch_size), 1000]  # no seq burnt
    broadcast = [e.message["text"] for e in publisher.events if isinstance(e, MessageSent)]
    assert broadcast == [f"b{i}" for i in range(batch_size - 1)]


class _BrokenOnce:
    """A publisher whose first broadcast fails (a Redis blip, say)."""

    def __init__(self) -> None:
        self.events: list[MessageSent] = []
        self.failed = False

    async def publish(self, event) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("pub/sub is down")
        self.events.append(event)


async def test_a_failed_broadcast_fails_no_send_and_the_rest_still_go_out(
    client, app, database_url
):
    alice, _bob, chat_id = await _alice_and_bob_in_a_group(client)
    publisher = _BrokenOnce()
    lanes = _lanes(app, publisher)

    results = await asyncio.gather(
        *(_send(lanes, alice.id, chat_id, f"m{i}", uuid.uuid4()) for i in range(5))
    )

    assert [r.duplicate for r in results] == [False] * 5  # stored is stored
    assert [r["seq"] for r in await _rows(database_url)] == [1, 2, 3, 4, 5]
    assert [e.message["seq"] for e in publisher.events] == [2, 3, 4, 5]


async def test_texts_the_database_cannot_store_are_refused_before_they_join_a_batch(
    client, app, database_url
):
    alice, bob, chat_id = await _alice_and_bob_in_a_group(client)
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)

    outcomes = await asyncio.gather(
        *(_send(lanes, alice.id, chat_id, f"fine {i}", uuid.uuid4()) for i in range(5)),
        _send(lanes, bob.id, chat_id, "nul \x00 inside", uuid.uuid4()),
        _send(lanes, bob.id, chat_id, "lone \ud800 surrogate", uuid.uuid4()),
        return_exceptions=True,
    )

    assert all(isinstance(o, SendResult) for o in outcomes[:5])
    assert all(isinstance(o, ValidationFailed) for o in outcomes[5:])
    assert len(await _rows(database_url)) == 5


async def test_senders_waiting_in_a_lane_hear_of_it_when_the_lanes_close(client, app, database_url):
    alice, _bob, chat_id = await _alice_and_bob_in_a_group(client)
    lanes = _lanes(app, RecordingPublisher())
    rival = await asyncpg.connect(plain_dsn(database_url))
    rival_tx = rival.transaction()
    await rival_tx.start()
    await rival.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
    try:
        sending = asyncio.gather(
            *(_send(lanes, alice.id, chat_id, f"m{i}", uuid.uuid4()) for i in range(3)),
            return_exceptions=True,
        )
        await asyncio.sleep(0.5)  # the lane's statement now waits for the chat row
        assert not sending.done(), "the sends should be waiting in their lane"
        await lanes.close()  # as at shutdown: the lane's worker is cancelled

        results = await asyncio.wait_for(sending, timeout=5)  # nobody waits for ever
    finally:
        await rival_tx.rollback()
        await rival.close()

    assert all(isinstance(r, BaseException) for r in results)

"""Read status as watermarks (docs/protocol.md, invariant 3), through the services."""

import asyncio
import uuid

import asyncpg
import pytest

from chat_server.errors import NotFound
from chat_server.events import MessagesRead, ReadReceipt, RecordingPublisher
from chat_server.groups import service as groups
from chat_server.messages import read_status
from chat_server.messages import service as messages
from chat_server.messages.lanes import ChatLanes
from tests.support.api import group, register, send
from tests.support.db import plain_dsn, wait_until_waiting_for_a_lock


def _newly_read(publisher: RecordingPublisher) -> list[MessagesRead]:
    return [event for event in publisher.events if isinstance(event, MessagesRead)]


def _lanes(app, publisher) -> ChatLanes:
    """The server's lanes, but publishing to `publisher`."""
    return ChatLanes(app.state.runtime.engine, publisher)


async def _mark(lanes, user, chat_id, seq) -> int:
    return await messages.mark_read(
        lanes=lanes,
        user_id=user.id,
        chat_id=chat_id,
        seq=seq,
    )


async def _remove(app, publisher, team, actor, user) -> None:
    async with app.state.runtime.sessions() as session:
        await groups.remove_member(
            session=session,
            publisher=publisher,
            actor_id=actor.id,
            group_id=team["id"],
            user_id=user.id,
        )


async def _is_read(client, user, chat_id) -> list[bool]:
    history = (await client.get(f"/history/{chat_id}", headers=user.headers)).json()
    return [m["is_read"] for m in history]


async def test_group_message_is_read_only_when_every_other_member_read_it(client, app):
    alice, bob, carol = [await register(client, n) for n in ("Alice", "Bob", "Carol")]
    chat_id = (await group(client, alice, [bob, carol]))["chat_id"]
    message = await send(client, alice, chat_id, "hello team")
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)

    await _mark(lanes, bob, chat_id, message["seq"])
    assert await _is_read(client, alice, chat_id) == [False]
    assert _newly_read(publisher) == []

    await _mark(lanes, carol, chat_id, message["seq"])
    assert await _is_read(client, alice, chat_id) == [True]
    assert _newly_read(publisher) == [
        MessagesRead(chat_id=chat_id, sender_id=alice.id, message_ids=[message["id"]], up_to_seq=1)
    ]
    # Reading again notifies nobody a second time.
    await _mark(lanes, carol, chat_id, message["seq"])
    assert len(_newly_read(publisher)) == 1


async def test_private_message_is_read_when_the_recipient_reads(client, app):
    alice, bob = [await register(client, n) for n in ("Alice", "Bob")]
    response = await client.post("/chats/private", json={"user_id": bob.id}, headers=alice.headers)
    chat_id = response.json()["id"]
    first = await send(client, alice, chat_id, "one")
    second = await send(client, alice, chat_id, "two")
    reply = await send(client, bob, chat_id, "three")
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)

    assert await _mark(lanes, bob, chat_id, reply["seq"]) == 3
    assert await _is_read(client, alice, chat_id) == [True, True, False]
    assert _newly_read(publisher) == [
        MessagesRead(
            chat_id=chat_id,
            sender_id=alice.id,
            message_ids=[first["id"], second["id"]],
            up_to_seq=2,
        )
    ]


async def test_watermark_never_moves_back_nor_past_the_last_message(client, app):
    alice, bob = [await register(client, n) for n in ("Alice", "Bob")]
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    for i in range(3):
        await send(client, alice, chat_id, f"m{i}")
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)
    assert await _mark(lanes, bob, chat_id, 2) == 2
    assert await _mark(lanes, bob, chat_id, 1) == 2
    assert await _mark(lanes, bob, chat_id, 1000) == 3
    detail = (await client.get(f"/chats/{chat_id}", headers=bob.headers)).json()
    assert {m["user_id"]: m["last_read_seq"] for m in detail["members"]}[bob.id] == 3
    # Only forward moves produce receipts.
    receipts = [e for e in publisher.events if isinstance(e, ReadReceipt)]
    assert [r.last_read_seq for r in receipts] == [2, 3]


async def test_read_over_rest_validates_and_checks_membership(client):
    alice, bob, mallory = [await register(client, n) for n in ("Alice", "Bob", "Mallory")]
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    await send(client, alice, chat_id, "x")
    url = f"/chats/{chat_id}/read"
    assert (await client.post(url, json={"seq": -1}, headers=bob.headers)).status_code == 422
    assert (await client.post(url, json={"seq": "1"}, headers=bob.headers)).status_code == 422
    assert (await client.post(url, json={}, headers=bob.headers)).status_code == 422
    assert (await client.post(url, json={"seq": 1}, headers=mallory.headers)).status_code == 404
    assert (await client.post(url, json={"seq": 1})).status_code == 401
    ok = await client.post(url, json={"seq": 1}, headers=bob.headers)
    assert ok.json() == {"chat_id": chat_id, "last_read_seq": 1}


async def test_member_added_later_does_not_hold_back_earlier_messages(client, app):
    alice, bob, dave = [await register(client, n) for n in ("Alice", "Bob", "Dave")]
    team = await group(client, alice, [bob])
    chat_id = team["chat_id"]
    early = await send(client, alice, chat_id, "before dave")
    added = await client.post(
        f"/groups/{team['id']}/members", json={"user_id": dave.id}, headers=alice.headers
    )
    assert added.status_code == 201
    late = await send(client, alice, chat_id, "after dave")
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)
    await _mark(lanes, bob, chat_id, late["seq"])
    # Dave joined at seq 1, so only the later message waits for him.
    assert await _is_read(client, alice, chat_id) == [True, False]
    assert [m.message_ids for m in _newly_read(publisher)] == [[early["id"]]]


async def test_leaving_the_group_can_complete_reads_and_notifies_once(client, app):
    alice, bob, carol = [await register(client, n) for n in ("Alice", "Bob", "Carol")]
    team = await group(client, alice, [bob, carol])
    chat_id = team["chat_id"]
    message = await send(client, alice, chat_id, "read me")
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)
    await _mark(lanes, bob, chat_id, 1)
    assert _newly_read(publisher) == []
    await _remove(app, publisher, team, carol, carol)
    assert await _is_read(client, alice, chat_id) == [True]
    assert _newly_read(publisher) == [
        MessagesRead(chat_id=chat_id, sender_id=alice.id, message_ids=[message["id"]], up_to_seq=1)
    ]


async def test_leaving_completes_only_what_everyone_left_has_read_for_each_sender(client, app):
    alice, bob, carol, dave = [await register(client, n) for n in ("Alice", "Bob", "Carol", "Dave")]
    team = await group(client, alice, [bob, carol, dave])
    chat_id = team["chat_id"]
    first = await send(client, alice, chat_id, "1")
    second = await send(client, alice, chat_id, "2")
    from_bob = await send(client, bob, chat_id, "3")
    await send(client, alice, chat_id, "4")
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)
    for reader, seq in ((alice, 3), (bob, 3), (dave, 4)):
        await _mark(lanes, reader, chat_id, seq)
    assert _newly_read(publisher) == []  # Carol has read nothing

    await _remove(app, publisher, team, alice, carol)

    # 1-3 were only waiting for Carol; 4 still waits for Bob.
    assert await _is_read(client, alice, chat_id) == [True, True, True, False]
    assert _newly_read(publisher) == [
        MessagesRead(
            chat_id=chat_id,
            sender_id=alice.id,
            message_ids=[first["id"], second["id"]],
            up_to_seq=2,
        ),
        MessagesRead(chat_id=chat_id, sender_id=bob.id, message_ids=[from_bob["id"]], up_to_seq=3),
    ]


async def test_parallel_readers_never_leave_a_message_unread(client, app):
    """Two members reading at the same instant must not each miss the other's watermark."""
    users = [await register(client, f"U{i}") for i in range(6)]
    chat_id = (await group(client, users[0], users[1:]))["chat_id"]
    for round_no in range(10):
        message = await send(client, users[0], chat_id, f"round {round_no}")
        publisher = RecordingPublisher()
        lanes = _lanes(app, publisher)
        await asyncio.gather(*(_mark(lanes, u, chat_id, message["seq"]) for u in users[1:]))
        assert [m.message_ids for m in _newly_read(publisher)] == [[message["id"]]]
    assert await _is_read(client, users[0], chat_id) == [True] * 10


async def test_sender_reading_own_message_does_not_mark_it_read(client, app):
    alice, bob = [await register(client, n) for n in ("Alice", "Bob")]
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    await send(client, alice, chat_id, "mine", str(uuid.uuid4()))
    await _mark(_lanes(app, RecordingPublisher()), alice, chat_id, 1)
    assert await _is_read(client, alice, chat_id) == [False]


async def test_many_parallel_reads_are_batched_and_complete_each_message_once(client, app):
    alice, *readers = [await register(client, n) for n in ("Alice", "B", "C", "D", "E", "F")]
    chat_id = (await group(client, alice, readers))["chat_id"]
    sent = [await send(client, alice, chat_id, f"m{i}") for i in range(20)]
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)

    # Every reader reads every message at once: 100 reads of one chat in parallel.
    asked = [(reader, seq) for reader in readers for seq in range(1, 21)]
    answers = await asyncio.gather(*(_mark(lanes, reader, chat_id, seq) for reader, seq in asked))

    assert all(answer >= seq for (_, seq), answer in zip(asked, answers, strict=True))
    assert await _is_read(client, alice, chat_id) == [True] * 20
    completed = [mid for batch in _newly_read(publisher) for mid in batch.message_ids]
    assert sorted(completed) == sorted(m["id"] for m in sent)  # each message once
    receipts = [e for e in publisher.events if isinstance(e, ReadReceipt)]
    assert len(receipts) < len(asked) / 2  # reads that waited together moved together
    for reader in readers:
        marks = [
            e.last_read_seq
            for e in publisher.events
            if isinstance(e, ReadReceipt) and e.user_id == reader.id
        ]
        assert marks == sorted(set(marks)) and marks[-1] == 20  # only ever forward


async def test_reads_settled_one_by_one_after_a_failed_batch_are_all_announced(
    client, app, monkeypatch
):
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    sent = [await send(client, alice, chat_id, f"m{i}") for i in range(4)]
    real = read_status.move_watermarks

    async def fails_for_batches(conn, *, chat_id, reads):
        if len(reads) > 1:  # a pool timeout or a dropped connection, say
            raise ConnectionError("transient")
        return await real(conn, chat_id=chat_id, reads=reads)

    monkeypatch.setattr(read_status, "move_watermarks", fails_for_batches)
    publisher = RecordingPublisher()
    lanes = _lanes(app, publisher)

    answers = await asyncio.gather(*(_mark(lanes, bob, chat_id, s) for s in (1, 2, 4)))

    assert answers == [1, 2, 4]
    receipts = [e.last_read_seq for e in publisher.events if isinstance(e, ReadReceipt)]
    assert receipts == [1, 2, 4]
    completed = [mid for batch in _newly_read(publisher) for mid in batch.message_ids]
    assert sorted(completed) == sorted(m["id"] for m in sent)


async def test_a_non_members_read_never_locks_the_chat(client, app, database_url):
    alice, bob, mallory = [await register(client, n) for n in ("Alice", "Bob", "Mallory")]
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    # Hold the chat row: a read that tried to lock it would wait.
    holder = await asyncpg.connect(plain_dsn(database_url))
    holding = holder.transaction()
    await holding.start()
    await holder.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
    try:
        with pytest.raises(NotFound):
            await asyncio.wait_for(_mark(_lanes(app, RecordingPublisher()), mallory, chat_id, 1), 5)
    finally:
        await holding.rollback()
        await holder.close()


async def test_a_reader_removed_while_the_read_waited_for_the_lock_is_refused(
    client, app, database_url
):
    """The lock and the move are one call but two statements: the move takes its snapshot
    after the lock, so it sees a removal committed while the read waited."""
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    chat_id = (await group(client, alice, [bob]))["chat_id"]
    await send(client, alice, chat_id, "hello")
    holder = await asyncpg.connect(plain_dsn(database_url))
    holding = holder.transaction()
    await holding.start()
    committed = False
    try:
        await holder.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
        read = asyncio.create_task(_mark(_lanes(app, RecordingPublisher()), bob, chat_id, 1))
        await wait_until_waiting_for_a_lock(database_url, "%move_watermarks%")
        await holder.execute(
            "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2", chat_id, bob.id
        )
        await holding.commit()
        committed = True
    finally:
        if not committed:
            await holding.rollback()
        await holder.close()
    with pytest.raises(NotFound):
        await asyncio.wait_for(read, 5)
    assert await _is_read(client, alice, chat_id) == [False]

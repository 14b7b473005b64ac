"""The send path's SQL: one statement stores a batch of sends into one chat.

Sending is the hot path, so it skips the ORM unit of work (several times the CPU per
message, see bench/README.md) and runs SQLAlchemy Core text statements: the membership
check, the duplicate lookup, taking the next seqs and the insert are one statement,
run in a short transaction right after the chat row lock is taken.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Text, Uuid, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

from chat_server.messages.read_status import LOCK_CHAT_FOR_MEMBERS
from chat_server.messages.schemas import MessageOut

SENDER_KEY_CONSTRAINT = "uq_messages_sender_id_client_msg_id"

_MESSAGE_COLUMNS: dict[str, TypeEngine[Any] | type[TypeEngine[Any]]] = {
    "id": BigInteger,
    "chat_id": BigInteger,
    "sender_id": BigInteger,
    "seq": BigInteger,
    "text": Text,
    "created_at": DateTime(timezone=True),
    "is_read": Boolean,
    "client_msg_id": Uuid,
}

# Runs after read_status.LOCK_CHAT_FOR_MEMBERS in the same transaction. Rows come back
# of three kinds: 'stored' (new), 'earlier' (the id was used before) and 'member' (a
# sender who is a member of the chat). clock_timestamp() is read under the lock, so seq order and
# send-time order agree (a batch shares one time). A send with one of these ids into
# another chat, committed after this snapshot, makes the INSERT fail on the unique
# constraint, which rolls the transaction back, seqs included: no gaps.
STORE_BATCH = (
    text(
        """
        WITH input AS (
            SELECT * FROM unnest(
                CAST(:sender_ids AS bigint[]),
                CAST(:texts AS text[]),
                CAST(:client_msg_ids AS uuid[])
            ) WITH ORDINALITY AS i (sender_id, text, client_msg_id, ord)
        ),
        membership AS (
            SELECT user_id FROM chat_members
            WHERE chat_id = :chat_id AND user_id = ANY (CAST(:sender_ids AS bigint[]))
        ),
        earlier AS (
            SELECT id, chat_id, sender_id, seq, text, created_at, is_read, client_msg_id
            FROM messages
            WHERE (sender_id, client_msg_id) IN (SELECT sender_id, client_msg_id FROM input)
        ),
        fresh AS (
            SELECT DISTINCT ON (i.sender_id, i.client_msg_id) i.*
            FROM input AS i
            WHERE i.sender_id IN (SELECT user_id FROM membership)
              AND NOT EXISTS (
                  SELECT 1 FROM earlier AS e
                  WHERE e.sender_id = i.sender_id AND e.client_msg_id = i.client_msg_id
              )
            ORDER BY i.sender_id, i.client_msg_id, i.ord
        ),
        numbered AS (
            SELECT fresh.*, row_number() OVER (ORDER BY ord) AS n, count(*) OVER () AS total
            FROM fresh
        ),
        next_seq AS (
            UPDATE chats SET last_seq = last_seq + (SELECT count(*) FROM fresh)
            WHERE id = :chat_id AND EXISTS (SELECT 1 FROM fresh)
            RETURNING last_seq, clock_timestamp() AS sent_at
        ),
        stored AS (
            INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, created_at)
            SELECT CAST(:chat_id AS bigint), numbered.sender_id, numbered.text,
                   numbered.client_msg_id, next_seq.last_seq - numbered.total + numbered.n,
                   next_seq.sent_at
            FROM numbered CROSS JOIN next_seq
            RETURNING id, chat_id, sender_id, seq, text, created_at, is_read, client_msg_id
        )
        SELECT 'stored' AS kind, stored.* FROM stored
        UNION ALL
        SELECT 'earlier', earlier.* FROM earlier
        UNION ALL
        SELECT 'member', NULL, NULL, user_id, NULL, NULL, NULL, NULL, NULL FROM membership
        """
    )
    .bindparams(
        bindparam("chat_id", type_=BigInteger),
        bindparam("sender_ids", type_=ARRAY(BigInteger)),
        bindparam("texts", type_=ARRAY(Text)),
        bindparam("client_msg_ids", type_=ARRAY(Uuid)),
    )
    .columns(kind=Text, **_MESSAGE_COLUMNS)
)

_LOOKUP = (
    text(
        """
        SELECT
            EXISTS (
                SELECT 1 FROM chat_members WHERE chat_id = :chat_id AND user_id = :sender_id
            ) AS is_member,
            m.id, m.chat_id, m.sender_id, m.seq, m.text, m.created_at, m.is_read,
            m.client_msg_id
        FROM (SELECT 1) AS one
        LEFT JOIN messages AS m ON m.sender_id = :sender_id AND m.client_msg_id = :client_msg_id
        """
    )
    .bindparams(
        bindparam("chat_id", type_=BigInteger),
        bindparam("sender_id", type_=BigInteger),
        bindparam("client_msg_id", type_=Uuid),
    )
    .columns(is_member=Boolean, **_MESSAGE_COLUMNS)
)


@dataclass(frozen=True)
class Send:
    sender_id: int
    text: str
    client_msg_id: uuid.UUID


@dataclass(frozen=True)
class Outcome:
    """What the database says about one send."""

    is_member: bool
    message: MessageOut | None  # the stored message, or the earlier one with this id
    is_new: bool


@asynccontextmanager
async def _autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def store_batch(engine: AsyncEngine, *, chat_id: int, sends: Sequence[Send]) -> list[Outcome]:
    """Store the sends whose ids are new, in the order given; one outcome per send.

    A send repeating an id, earlier or within the batch, gets the first message back with
    `is_new` False. Any error (a parallel send with one of these ids winning the race
    included) rolls the whole batch back and is raised: settle the sends with store_one.
    """
    outcomes: list[Outcome] | None = None
    try:
        async with engine.begin() as conn:
            params = {"chat_id": chat_id, "user_ids": [send.sender_id for send in sends]}
            if (await conn.execute(LOCK_CHAT_FOR_MEMBERS, params)).first() is None:
                # No member sends (or no chat): refused, never stored without the lock.
                return [Outcome(is_member=False, message=None, is_new=False) for _ in sends]
            outcomes = await _store_batch(conn, chat_id, sends)
    except Exception as exc:
        if outcomes is not None:
            stored = {o.message.id for o in outcomes if o.is_new and o.message is not None}
            raise CommitUncertain(stored) from exc
        raise
    return outcomes


class CommitUncertain(Exception):
    """The batch's statement ran but its COMMIT failed: the connection may have dropped
    after PostgreSQL committed, or before. `stored_ids` are the ids of the messages the
    batch inserted: if they exist now, the batch was committed and they are its own
    (message ids come from a sequence and are never handed out twice)."""

    def __init__(self, stored_ids: set[int]) -> None:
        super().__init__(f"commit outcome unknown for messages {sorted(stored_ids)}")
        self.stored_ids = stored_ids


# How many times store_one tries when its own COMMIT keeps failing; then the send fails
# as a whole (the client retries with the same id).
SETTLE_ATTEMPTS = 3


async def store_one(
    engine: AsyncEngine, *, chat_id: int, send: Send, stored_ids: set[int] | None = None
) -> Outcome:
    """One send alone; when a parallel send with its id wins, that message is the answer.

    After a CommitUncertain, pass its `stored_ids`: a message with this send's id that is
    one of them was stored by the uncertain batch, so it is this send's own (new, to be
    announced), not a duplicate, even if its sender has been removed since."""
    ours = set(stored_ids or ())
    for attempt in range(1, SETTLE_ATTEMPTS + 1):
        try:
            outcome = (await store_batch(engine, chat_id=chat_id, sends=[send]))[0]
            break
        except CommitUncertain as exc:
            # The next attempt waits on the chat lock until that transaction has ended,
            # then sees whatever it stored.
            ours |= exc.stored_ids
            if attempt == SETTLE_ATTEMPTS:
                raise
        except IntegrityError as exc:
            if SENDER_KEY_CONSTRAINT not in str(exc.orig):
                raise
            # The winner committed after our snapshot: read it.
            outcome = await _lookup_send(engine, chat_id, send)
            break
    if ours and outcome.message is None:
        # Refused now (its sender was removed meanwhile), perhaps stored before that.
        outcome = await _lookup_send(engine, chat_id, send)
    message = outcome.message
    if message is not None and message.id in ours:
        return Outcome(is_member=True, message=message, is_new=True)
    return outcome


async def _lookup_send(engine: AsyncEngine, chat_id: int, send: Send) -> Outcome:
    return await lookup(
        engine, chat_id=chat_id, sender_id=send.sender_id, client_msg_id=send.client_msg_id
    )


async def _store_batch(conn: AsyncConnection, chat_id: int, sends: Sequence[Send]) -> list[Outcome]:
    params = {
        "chat_id": chat_id,
        "sender_ids": [s.sender_id for s in sends],
        "texts": [s.text for s in sends],
        "client_msg_ids": [s.client_msg_id for s in sends],
    }
    rows = (await conn.execute(STORE_BATCH, params)).all()
    members = {row.sender_id for row in rows if row.kind == "member"}
    messages = {
        (row.sender_id, row.client_msg_id): (MessageOut.model_validate(row), row.kind == "stored")
        for row in rows
        if row.kind != "member"
    }
    outcomes = []
    for send in sends:
        key = (send.sender_id, send.client_msg_id)
        found = messages.get(key)
        is_member = send.sender_id in members
        if found is None:
            outcomes.append(Outcome(is_member=is_member, message=None, is_new=False))
            continue
        message, is_new = found
        outcomes.append(Outcome(is_member=is_member, message=message, is_new=is_new))
        if is_new:  # a second send with this id in the same batch is its duplicate
            messages[key] = (message, False)
    return outcomes


async def lookup(
    engine: AsyncEngine, *, chat_id: int, sender_id: int, client_msg_id: uuid.UUID
) -> Outcome:
    """Membership and the earlier message with this id, without storing anything."""
    async with _autocommit(engine) as conn:
        return await _lookup(conn, chat_id, sender_id, client_msg_id)


async def _lookup(
    conn: AsyncConnection, chat_id: int, sender_id: int, client_msg_id: uuid.UUID
) -> Outcome:
    params = {"chat_id": chat_id, "sender_id": sender_id, "client_msg_id": client_msg_id}
    row: Row[Any] = (await conn.execute(_LOOKUP, params)).one()
    message = MessageOut.model_validate(row) if row.id is not None else None
    return Outcome(is_member=bool(row.is_member), message=message, is_new=False)

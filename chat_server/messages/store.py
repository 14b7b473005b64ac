"""The send path's SQL: one statement per message, on an autocommit connection.

Sending is the hot path, so it skips the ORM unit of work (about six times the CPU per
message, see bench/README.md) and runs SQLAlchemy Core text statements instead: the
membership check, the duplicate lookup, taking the next seq and the insert are one
statement, which PostgreSQL runs as one transaction.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Text, Uuid, bindparam, text
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

from chat_server.messages.schemas import MessageOut

SENDER_KEY_CONSTRAINT = "uq_messages_sender_id_client_msg_id"

_PARAMS = (
    bindparam("chat_id", type_=BigInteger),
    bindparam("sender_id", type_=BigInteger),
    bindparam("client_msg_id", type_=Uuid),
)
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

_MEMBERSHIP_AND_EARLIER = """
    membership AS (
        SELECT EXISTS (
            SELECT 1 FROM chat_members WHERE chat_id = :chat_id AND user_id = :sender_id
        ) AS is_member
    ),
    earlier AS (
        SELECT id, chat_id, sender_id, seq, text, created_at, is_read, client_msg_id
        FROM messages
        WHERE sender_id = :sender_id AND client_msg_id = :client_msg_id
    )
"""

# Nothing comes back when the sender is not a member. The UPDATE takes the chat row lock
# before clock_timestamp() is read, so seq order and send-time order agree. A parallel
# send with the same id that commits after this statement's snapshot makes the INSERT
# fail on the unique constraint, which undoes the seq bump too: no gaps.
_STORE = (
    text(
        f"""
        WITH {_MEMBERSHIP_AND_EARLIER},
        next_seq AS (
            UPDATE chats SET last_seq = last_seq + 1
            WHERE id = :chat_id
              AND (SELECT is_member FROM membership)
              AND NOT EXISTS (SELECT 1 FROM earlier)
            RETURNING last_seq
        ),
        stored AS (
            INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, created_at)
            SELECT CAST(:chat_id AS bigint), CAST(:sender_id AS bigint), CAST(:text AS text),
                   CAST(:client_msg_id AS uuid), last_seq, clock_timestamp()
            FROM next_seq
            RETURNING id, chat_id, sender_id, seq, text, created_at, is_read, client_msg_id
        )
        SELECT true AS is_new, membership.is_member, stored.* FROM stored, membership
        UNION ALL
        SELECT false, membership.is_member, earlier.* FROM earlier, membership
        """
    )
    .bindparams(*_PARAMS, bindparam("text", type_=Text))
    .columns(is_new=Boolean, is_member=Boolean, **_MESSAGE_COLUMNS)
)

_LOOKUP = (
    text(
        f"""
        WITH {_MEMBERSHIP_AND_EARLIER}
        SELECT false AS is_new, membership.is_member, earlier.*
        FROM membership LEFT JOIN earlier ON true
        """
    )
    .bindparams(*_PARAMS)
    .columns(is_new=Boolean, is_member=Boolean, **_MESSAGE_COLUMNS)
)


@dataclass(frozen=True)
class Outcome:
    """What the database says about one send."""

    is_member: bool
    message: MessageOut | None  # the stored message, or the earlier one with this id
    is_new: bool


def _outcome(row: Row[Any] | None) -> Outcome:
    if row is None:
        return Outcome(is_member=False, message=None, is_new=False)
    message = MessageOut.model_validate(row) if row.id is not None else None
    return Outcome(is_member=bool(row.is_member), message=message, is_new=bool(row.is_new))


@asynccontextmanager
async def _autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def store(
    engine: AsyncEngine, *, chat_id: int, sender_id: int, text: str, client_msg_id: uuid.UUID
) -> Outcome:
    """Insert the message unless this id was used before."""
    key = {"chat_id": chat_id, "sender_id": sender_id, "client_msg_id": client_msg_id}
    async with _autocommit(engine) as conn:
        try:
            row = (await conn.execute(_STORE, {**key, "text": text})).first()
        except IntegrityError as exc:
            if SENDER_KEY_CONSTRAINT not in str(exc.orig):
                raise
            # A parallel send with this id committed after our snapshot: read the winner.
            row = (await conn.execute(_LOOKUP, key)).first()
    return _outcome(row)


async def lookup(
    engine: AsyncEngine, *, chat_id: int, sender_id: int, client_msg_id: uuid.UUID
) -> Outcome:
    """Membership and the earlier message with this id, without storing anything."""
    key = {"chat_id": chat_id, "sender_id": sender_id, "client_msg_id": client_msg_id}
    async with _autocommit(engine) as conn:
        return _outcome((await conn.execute(_LOOKUP, key)).first())

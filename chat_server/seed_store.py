"""Storing seed messages with their scripted send times.

The send path's own statement (messages.store.STORE_SENDS) stores them, under the chat
row lock as every send is, and the same transaction then dates them: the chat stays
locked until the times are in place, so no send can come between and seq order stays
time order. Messages already there (the same sender and client_msg_id) are left as they
are, times included, so a second run changes nothing.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.direct_sql import DirectConnection
from chat_server.messages.chat_transaction import run_locked
from chat_server.messages.outcomes import Refused
from chat_server.messages.store import STORE_SENDS

_LATEST_SEND = text(
    "SELECT max(created_at) AS latest, clock_timestamp() AS now FROM messages"
    " WHERE chat_id = :chat_id"
).bindparams(bindparam("chat_id", type_=BigInteger))
_REDATE = text(
    """
    UPDATE messages AS m SET created_at = v.created_at
    FROM unnest(CAST(:ids AS bigint[]), CAST(:times AS timestamptz[])) AS v (id, created_at)
    WHERE m.id = v.id
    """
).bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)),
    bindparam("times", type_=ARRAY(DateTime(timezone=True))),
)


@dataclass(frozen=True)
class DatedSend:
    sender_id: int
    text: str
    client_msg_id: uuid.UUID
    sent_at: datetime  # the planned send time


async def store_dated(
    engine: AsyncEngine, *, chat_id: int, sends: Sequence[DatedSend]
) -> tuple[list[int], int]:
    """Store the sends that are not there yet, dated as planned; returns every send's seq
    and how many were new. One transaction, under the chat row lock."""
    params = {
        "chat_ids": [chat_id for _ in sends],
        "sender_ids": [send.sender_id for send in sends],
        "texts": [send.text for send in sends],
        "client_msg_ids": [send.client_msg_id for send in sends],
        "reply_to_seqs": [None for _ in sends],  # the seed's messages answer none
    }

    async def store(conn: DirectConnection) -> tuple[list[int], int]:
        latest, now = (await conn.execute(_LATEST_SEND, {"chat_id": chat_id})).one()
        rows = (await conn.execute(STORE_SENDS, params)).all()
        seqs: list[int] = []
        stored: list[tuple[int, datetime]] = []
        for send, row in zip(sends, rows, strict=True):
            if not row.is_member or row.chat_id != chat_id or row.text != send.text:
                raise RuntimeError(f"seed message {send.client_msg_id} cannot be stored as written")
            seqs.append(row.seq)
            if row.is_new:
                stored.append((row.id, send.sent_at))
        if stored:
            times = _send_times([planned for _, planned in stored], latest=latest, now=now)
            await conn.execute(_REDATE, {"ids": [i for i, _ in stored], "times": times})
        return seqs, len(stored)

    senders = sorted({send.sender_id for send in sends})
    result = await run_locked(engine, chat_id=chat_id, user_ids=senders, work=store)
    if isinstance(result, Refused):
        raise RuntimeError(f"chat {chat_id} has none of the seed's senders as members")
    return result


def _send_times(
    planned: list[datetime], *, latest: datetime | None, now: datetime
) -> list[datetime]:
    """The planned times, unless the chat already holds a message sent after the first of
    them (a chat people used before the seed): then shifted to start just after it. Never
    later than now, so messages sent after the seed still come later in time too."""
    shift = timedelta(0)
    if latest is not None and latest >= planned[0]:
        shift = latest - planned[0] + timedelta(seconds=1)
    return [min(time + shift, now) for time in planned]

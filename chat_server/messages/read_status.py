"""The read rule (docs/protocol.md, invariant 3) as two statements:

1. MOVE_WATERMARKS: each reader's `last_read_seq` moves forward to what they asked,
   never back and never past the chat's last message;
2. FLIP_READ: a message in (low, high] turns read once every member other than its
   sender has a watermark at or past it.

A read batch runs both, the second over the seqs the first passed; a member leaving a
group runs the second alone, over the seqs the leaver had not read. Both run under the
chat row lock, so (read committed) each sees every watermark moved before it. A read
batch takes that lock in the first statement's own call (a direct_sql.FirstStep, as the
sends do): BEGIN, the lock and the move, the flip when a watermark passed a message,
COMMIT.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from chat_server.chats.access import CHAT, lock_chat_for_members
from chat_server.chats.models import Chat, ChatMember
from chat_server.direct_sql import DirectConnection, FirstStep, ServerFunction
from chat_server.events import MessagesRead
from chat_server.messages.chat_transaction import HeldLock, run_self_locking
from chat_server.messages.models import Message
from chat_server.messages.outcomes import Read, Refused, WatermarkMove


def _move_watermarks_statement(chat: BindParameter[Any]) -> Select[Any]:
    """One row per reader who is a member: their watermark before and after, and the
    transaction's id (for a lost COMMIT: messages/chat_transaction.py)."""
    given = (
        func.unnest(_READERS, bindparam("seqs", type_=ARRAY(BigInteger)))
        .table_valued(column("user_id", BigInteger), column("seq", BigInteger))
        .render_derived(name="given")
    )
    asked = (
        select(given.c.user_id, func.max(given.c.seq).label("seq"))
        .group_by(given.c.user_id)
        .cte("asked")
    )
    mine = (
        select(
            ChatMember.user_id,
            ChatMember.last_read_seq.label("previous"),
            func.greatest(ChatMember.last_read_seq, func.least(asked.c.seq, Chat.last_seq)).label(
                "current"
            ),
        )
        .select_from(asked)
        .join(ChatMember, and_(ChatMember.chat_id == chat, ChatMember.user_id == asked.c.user_id))
        .join(Chat, Chat.id == chat)
        .cte("mine")
    )
    moved = (
        update(ChatMember)
        .where(
            ChatMember.chat_id == chat,
            ChatMember.user_id == mine.c.user_id,
            mine.c.current > mine.c.previous,
        )
        .values(last_read_seq=mine.c.current)
        .cte("moved")
    )
    xact = cast(func.pg_current_xact_id(), Text).label("xact")
    return select(mine.c.user_id, mine.c.previous, mine.c.current, xact).add_cte(moved)


_READERS = bindparam("user_ids", type_=ARRAY(BigInteger))
_LOCKED_CHAT = bindparam("locked_chat", type_=BigInteger)
# The chat row lock, then the move: no member among the readers, no lock and no rows
# (nor rows when the move's later snapshot sees that the last of them was removed).
MOVE_WATERMARKS = ServerFunction(
    "move_watermarks",
    _move_watermarks_statement(_LOCKED_CHAT),
    first=FirstStep(_LOCKED_CHAT.key, lock_chat_for_members(CHAT, _READERS, Chat.id)),
)

_other = aliased(ChatMember, name="other")
FLIP_READ = (
    update(Message)
    .where(
        Message.chat_id == CHAT,
        ~Message.is_read,
        Message.seq > bindparam("low", type_=BigInteger),
        Message.seq <= bindparam("high", type_=BigInteger),
        ~exists().where(
            _other.chat_id == CHAT,
            _other.user_id != Message.sender_id,
            _other.last_read_seq < Message.seq,
        ),
    )
    .values(is_read=true())
    .returning(Message.id, Message.sender_id, Message.seq)
)


@dataclass(frozen=True)
class ReadBatch:
    moves: dict[int, WatermarkMove]  # by reader
    newly_read: list[MessagesRead]


async def apply_reads(
    engine: AsyncEngine, *, chat_id: int, reads: Sequence[Read]
) -> ReadBatch | Refused:
    """Move the readers' watermarks and flip what that completes, in one transaction
    under the chat row lock. Refused when none of the readers is a member; a reader
    who is not has no move in the batch."""

    async def move_and_flip(conn: DirectConnection) -> tuple[HeldLock | None, ReadBatch]:
        lock, moves = await move_watermarks(conn, chat_id=chat_id, reads=reads)
        passed = [move for move in moves.values() if move.moved]
        if not passed:  # nobody passed a message: none can have become read
            return lock, ReadBatch(moves, [])
        low = min(move.previous for move in passed)
        high = max(move.current for move in passed)
        newly_read = await flip_read(conn, chat_id=chat_id, low=low, high=high)
        return lock, ReadBatch(moves, newly_read)

    return await run_self_locking(engine, move_and_flip)


async def move_watermarks(
    conn: DirectConnection, *, chat_id: int, reads: Sequence[Read]
) -> tuple[HeldLock | None, dict[int, WatermarkMove]]:
    """The chat row lock, then statement 1 of the read rule, in one call: the lock held
    (None when no reader is a member: then nothing was moved, though the lock may be
    held when the last of them was removed while the lock was awaited) and the moves of
    the readers who are members."""
    params = {
        "chat": chat_id,
        "user_ids": [read.user_id for read in reads],
        "seqs": [read.seq for read in reads],
    }
    rows = (await conn.execute(MOVE_WATERMARKS, params)).all()
    lock = HeldLock(rows[0].xact, chat_id) if rows else None
    moves = {row.user_id: WatermarkMove(row.user_id, row.previous, row.current) for row in rows}
    return lock, moves


async def flip_read(
    conn: DirectConnection | AsyncConnection, *, chat_id: int, low: int, high: int
) -> list[MessagesRead]:
    """Statement 2 of the read rule: flip the messages with seq in (low, high] that every
    member other than their sender has now read; returned grouped by sender. Call under
    the chat row lock, before commit."""
    params = {"chat": chat_id, "low": low, "high": high}
    rows = (await conn.execute(FLIP_READ, params)).all()
    return _by_sender(chat_id, ((row.sender_id, row.seq, row.id) for row in rows))


def _by_sender(chat_id: int, reads: Iterable[tuple[int, int, int]]) -> list[MessagesRead]:
    by_sender: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for sender_id, seq, message_id in reads:
        by_sender[sender_id].append((seq, message_id))
    return [
        MessagesRead(
            chat_id=chat_id,
            sender_id=sender_id,
            message_ids=[message_id for _, message_id in sorted(pairs)],
            up_to_seq=max(seq for seq, _ in pairs),
        )
        for sender_id, pairs in sorted(by_sender.items())
    ]

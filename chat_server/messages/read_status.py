"""Read status from watermarks: which messages have just become read by everyone."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chat_server.chats.models import Chat
from chat_server.db import BIGINT_MAX
from chat_server.events import MessagesRead


async def lock_chat(session: AsyncSession, chat_id: int) -> Chat | None:
    """Take the chat row lock that serialises sends, reads and membership changes.

    Two members reading at once must not each miss the other's new watermark (write
    skew), and a member added at the same moment as a send must not start below it.
    """
    result = await session.execute(
        select(Chat)
        .where(Chat.id == chat_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def complete_reads(session: AsyncSession, *, chat_id: int) -> list[MessagesRead]:
    """After a member left: flip every message that every remaining member other than
    its sender has read, and return them grouped by sender.

    Call with the chat row locked (lock_chat) and before commit.
    """
    params = {**_NO_READS, "chat_id": chat_id, "low": 0, "high": BIGINT_MAX}
    rows = (await session.execute(_MOVE_WATERMARKS, params)).all()
    return _by_sender(
        chat_id, ((row.sender_id, row.seq, row.id) for row in rows if row.kind == "read")
    )


# The chat row lock for a batch of sends or reads, in a statement of its own: a
# statement's snapshot is fixed when it starts, so a membership check in a statement
# that waited for the lock would not see a removal committed during the wait. Only a
# batch with a member among `user_ids` takes it (a row comes back): anyone else's
# requests must not hold up the chat. Names the transaction, so that a COMMIT whose
# reply is lost can be looked up.
LOCK_CHAT_FOR_MEMBERS = text(
    """
    SELECT CAST(pg_current_xact_id() AS text) AS xact FROM chats
    WHERE id = :chat_id AND EXISTS (
        SELECT 1 FROM chat_members
        WHERE chat_id = :chat_id AND user_id = ANY (CAST(:user_ids AS bigint[]))
    )
    FOR UPDATE
    """
).bindparams(bindparam("chat_id", type_=BigInteger), bindparam("user_ids", type_=ARRAY(BigInteger)))

_XACT_STATUS = text("SELECT pg_xact_status(CAST(CAST(:xact AS text) AS xid8))")
_WAIT_FOR_CHAT = text("SELECT 1 FROM chats WHERE id = :chat_id FOR SHARE").bindparams(
    bindparam("chat_id", type_=BigInteger)
)

# The one statement of the read rule (DESIGN.md invariant 3). Runs under the chat row
# lock, so (read committed) its snapshot sees every watermark moved before these. The
# statement cannot see the watermarks it sets itself, hence `mine` in the check for who
# is still behind. A message can only become read here if some reader passed it, so
# only seqs between the lowest old and the highest new watermark are looked at, widened
# to (:low, :high] when given (a member left: no reader, any message may complete; NULL
# bounds are ignored by LEAST and GREATEST). Returns a 'watermark' row per reader who
# is a member and a 'read' row per message that has just become read by everyone.
_MOVE_WATERMARKS = (
    text(
        """
        WITH asked AS (
            SELECT user_id, max(seq) AS seq
            FROM unnest(CAST(:user_ids AS bigint[]), CAST(:seqs AS bigint[])) AS a (user_id, seq)
            GROUP BY user_id
        ),
        mine AS (
            SELECT member.user_id, member.last_read_seq AS previous,
                   GREATEST(member.last_read_seq, LEAST(asked.seq, chat.last_seq)) AS current
            FROM asked
            JOIN chat_members AS member
              ON member.chat_id = :chat_id AND member.user_id = asked.user_id
            JOIN chats AS chat ON chat.id = :chat_id
        ),
        moved AS (
            UPDATE chat_members AS member SET last_read_seq = mine.current
            FROM mine
            WHERE member.chat_id = :chat_id AND member.user_id = mine.user_id
              AND mine.current > mine.previous
            RETURNING member.user_id
        ),
        span AS (
            SELECT LEAST(min(previous), :low) AS low, GREATEST(max(current), :high) AS high
            FROM mine WHERE current > previous
        ),
        flipped AS (
            UPDATE messages AS m SET is_read = true
            FROM span
            WHERE m.chat_id = :chat_id AND NOT m.is_read
              AND m.seq > span.low AND m.seq <= span.high
              AND NOT EXISTS (
                  SELECT 1 FROM chat_members AS other
                  LEFT JOIN mine ON mine.user_id = other.user_id
                  WHERE other.chat_id = :chat_id AND other.user_id <> m.sender_id
                    AND COALESCE(mine.current, other.last_read_seq) < m.seq
              )
            RETURNING m.id, m.sender_id, m.seq
        )
        SELECT 'watermark' AS kind, user_id, previous, current,
               NULL AS id, NULL AS sender_id, NULL AS seq
        FROM mine
        UNION ALL
        SELECT 'read', NULL, NULL, NULL, id, sender_id, seq FROM flipped
        """
    )
    .bindparams(
        bindparam("chat_id", type_=BigInteger),
        bindparam("user_ids", type_=ARRAY(BigInteger)),
        bindparam("seqs", type_=ARRAY(BigInteger)),
        bindparam("low", type_=BigInteger),
        bindparam("high", type_=BigInteger),
    )
    .columns(
        user_id=BigInteger,
        previous=BigInteger,
        current=BigInteger,
        id=BigInteger,
        sender_id=BigInteger,
        seq=BigInteger,
    )
)
_NO_READS: dict[str, list[int]] = {"user_ids": [], "seqs": []}


@dataclass(frozen=True)
class Read:
    user_id: int
    seq: int


@dataclass(frozen=True)
class WatermarkMove:
    user_id: int
    previous: int
    current: int  # where the watermark is now: moved forward, or left where it was
    # What became read by everyone; carried by one move of the batch only.
    newly_read: list[MessagesRead] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return self.current > self.previous


async def move_watermarks(
    engine: AsyncEngine, *, chat_id: int, reads: Sequence[Read]
) -> list[WatermarkMove | None]:
    """Move each reader's watermark forward to their seq (never back, never past the
    last message) and flip what that completes, in one transaction under the chat row
    lock. One result per read: None when the reader is not a member of the chat."""
    params = {
        "chat_id": chat_id,
        "user_ids": [read.user_id for read in reads],
        "seqs": [read.seq for read in reads],
        "low": None,
        "high": None,
    }
    rows: Sequence[Row[Any]] | None = None
    xact: str | None = None
    try:
        async with engine.begin() as conn:
            locked = (await conn.execute(LOCK_CHAT_FOR_MEMBERS, params)).first()
            if locked is None:  # none of them is a member
                return [None for _ in reads]
            xact = locked.xact
            rows = (await conn.execute(_MOVE_WATERMARKS, params)).all()
    except Exception:
        # A COMMIT whose reply was lost may still have happened; then these results
        # stand and must be announced (a retry would find nothing left to move).
        if rows is None or xact is None or not await _committed(engine, chat_id, xact):
            raise
    moves = {
        row.user_id: WatermarkMove(row.user_id, row.previous, row.current)
        for row in rows
        if row.kind == "watermark"
    }
    newly_read = _by_sender(
        chat_id, ((row.sender_id, row.seq, row.id) for row in rows if row.kind == "read")
    )
    if newly_read:
        carrier = max((m for m in moves.values() if m.moved), key=lambda m: m.user_id)
        moves[carrier.user_id] = replace(carrier, newly_read=newly_read)
    return [moves.get(read.user_id) for read in reads]


async def _committed(engine: AsyncEngine, chat_id: int, xact: str) -> bool:
    """Whether the transaction `xact` committed; False when that cannot be found out."""
    try:
        async with engine.begin() as conn:
            # It held the chat row lock: once this share lock is granted, it has ended.
            await conn.execute(_WAIT_FOR_CHAT, {"chat_id": chat_id})
            status = (await conn.execute(_XACT_STATUS, {"xact": xact})).scalar()
    except Exception:
        return False
    return bool(status == "committed")


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

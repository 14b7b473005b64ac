"""Read status from watermarks: which messages have just become read by everyone."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, and_, bindparam, exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chat_server.chats.models import Chat, ChatMember
from chat_server.events import MessagesRead
from chat_server.messages.models import Message


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


async def complete_reads(
    session: AsyncSession, *, chat_id: int, after_seq: int = 0
) -> list[MessagesRead]:
    """Flip `is_read` on every unread message (seq > after_seq) that every member other
    than its sender has now read, and return them grouped by sender.

    Call with the chat row locked (lock_chat) and before commit.
    """
    someone_behind = exists().where(
        and_(
            ChatMember.chat_id == Message.chat_id,
            ChatMember.user_id != Message.sender_id,
            ChatMember.last_read_seq < Message.seq,
        )
    )
    rows = await session.execute(
        update(Message)
        .where(
            Message.chat_id == chat_id,
            Message.seq > after_seq,
            Message.is_read.is_(False),
            ~someone_behind,
        )
        .values(is_read=True)
        .returning(Message.id, Message.sender_id, Message.seq)
        .execution_options(synchronize_session=False)
    )
    return _by_sender(
        chat_id, ((sender_id, seq, message_id) for message_id, sender_id, seq in rows.all())
    )


_LOCK_CHAT = text("SELECT 1 FROM chats WHERE id = :chat_id FOR UPDATE").bindparams(
    bindparam("chat_id", type_=BigInteger)
)

# Runs after _LOCK_CHAT in the same transaction, so (read committed) its snapshot sees
# every watermark moved before ours. The caller's own new watermark is not visible to
# the statement that sets it, hence the CASE. Returns one 'watermark' row (none when the
# caller is not a member) and a 'read' row per message that has just become read.
_MOVE_WATERMARK = (
    text(
        """
        WITH me AS (
            SELECT member.last_read_seq AS previous,
                   LEAST(CAST(:seq AS bigint), chat.last_seq) AS wanted
            FROM chat_members AS member JOIN chats AS chat ON chat.id = member.chat_id
            WHERE member.chat_id = :chat_id AND member.user_id = :user_id
        ),
        moved AS (
            UPDATE chat_members AS member SET last_read_seq = me.wanted
            FROM me
            WHERE member.chat_id = :chat_id AND member.user_id = :user_id
              AND me.wanted > me.previous
            RETURNING member.user_id
        ),
        flipped AS (
            UPDATE messages AS m SET is_read = true
            FROM me
            WHERE m.chat_id = :chat_id AND NOT m.is_read
              AND m.seq > me.previous AND m.seq <= me.wanted
              AND NOT EXISTS (
                  SELECT 1 FROM chat_members AS other
                  WHERE other.chat_id = :chat_id AND other.user_id <> m.sender_id
                    AND CASE WHEN other.user_id = :user_id THEN me.wanted
                             ELSE other.last_read_seq END < m.seq
              )
            RETURNING m.id, m.sender_id, m.seq
        )
        SELECT 'watermark' AS kind, previous, wanted,
               NULL AS id, NULL AS sender_id, NULL AS seq
        FROM me
        UNION ALL
        SELECT 'read', NULL, NULL, id, sender_id, seq FROM flipped
        """
    )
    .bindparams(
        bindparam("chat_id", type_=BigInteger),
        bindparam("user_id", type_=BigInteger),
        bindparam("seq", type_=BigInteger),
    )
    .columns(previous=BigInteger, wanted=BigInteger, id=BigInteger, sender_id=BigInteger)
)


@dataclass(frozen=True)
class WatermarkMove:
    previous: int
    current: int  # where the watermark is now: moved forward, or left where it was
    newly_read: list[MessagesRead]


async def move_watermark(
    engine: AsyncEngine, *, chat_id: int, user_id: int, seq: int
) -> WatermarkMove | None:
    """Move the member's watermark forward to `seq` (never back, never past the last
    message) and flip what that completes, in one transaction under the chat row lock;
    None when the user is not a member of the chat."""
    async with engine.begin() as conn:
        await conn.execute(_LOCK_CHAT, {"chat_id": chat_id})
        params = {"chat_id": chat_id, "user_id": user_id, "seq": seq}
        rows = (await conn.execute(_MOVE_WATERMARK, params)).all()
    mark = next((row for row in rows if row.kind == "watermark"), None)
    if mark is None:
        return None
    reads = ((row.sender_id, row.seq, row.id) for row in rows if row.kind == "read")
    return WatermarkMove(
        previous=mark.previous,
        current=max(mark.previous, mark.wanted),
        newly_read=_by_sender(chat_id, reads),
    )


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

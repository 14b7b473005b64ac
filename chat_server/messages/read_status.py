"""Read status from watermarks: which messages have just become read by everyone."""

from collections import defaultdict

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
    by_sender: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for message_id, sender_id, seq in rows.all():
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

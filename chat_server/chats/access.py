"""Who may touch a chat, in one place: the access check services call, the chat row lock
that serialises sends, reads and membership changes, and the membership condition the
hot-path statements embed.

"No such chat" and "not a member" are the same answer everywhere (NotFound here, a
`Refused` outcome in the message pipeline), so no caller can tell another chat exists.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.models import Chat, ChatMember
from chat_server.errors import NotFound


async def access_chat(
    session: AsyncSession, *, user_id: int, chat_id: int
) -> tuple[Chat, ChatMember]:
    """The chat and the caller's membership; NotFound for "no such chat" and "not a
    member" alike, so REST and sockets cannot disagree about access."""
    row = (
        await session.execute(
            select(Chat, ChatMember)
            .join(ChatMember, ChatMember.chat_id == Chat.id)
            .where(Chat.id == chat_id, ChatMember.user_id == user_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("chat not found")
    return row[0], row[1]


async def lock_chat(session: AsyncSession, chat_id: int) -> Chat | None:
    """Take the chat row lock (see LOCK_CHAT_FOR_MEMBERS) in the session's transaction.

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


# The chat of a pipeline statement. Named `chat`, not `chat_id`: SQLAlchemy takes an
# execution parameter named after a column of an UPDATEd table as a value to SET.
CHAT = bindparam("chat", type_=BigInteger)


def members_among(chat_id: ColumnElement[Any], user_ids: ColumnElement[Any]) -> Select[int]:
    """Those of `user_ids` (an array) who are members of the chat: the membership
    condition of every statement in the message pipeline."""
    return select(ChatMember.user_id).where(
        ChatMember.chat_id == chat_id, ChatMember.user_id == any_(user_ids)
    )


def lock_chat_for_members(
    chat_id: ColumnElement[Any], user_ids: ColumnElement[Any], *columns: Any
) -> Select[Any]:
    """The chat row lock for a batch of the message pipeline, in a statement of its own
    (alone, or as a direct_sql.FirstStep): a statement's snapshot is fixed when it
    starts, so a membership check in a statement that waited for the lock would not see
    a removal committed during the wait. Only a batch with a member among `user_ids`
    (an array) takes it (a row of `columns` comes back): anyone else's requests must not
    hold up the chat."""
    return (
        select(*columns)
        .where(Chat.id == chat_id, members_among(chat_id, user_ids).exists())
        .with_for_update(of=Chat)
    )


# Returns the transaction's id, so that a COMMIT whose reply is lost can be looked up
# (see messages/chat_transaction.py).
LOCK_CHAT_FOR_MEMBERS = lock_chat_for_members(
    CHAT,
    bindparam("user_ids", type_=ARRAY(BigInteger)),
    cast(func.pg_current_xact_id(), Text).label("xact"),
)


def chat_member_pairs(
    chat_ids: ColumnElement[Any], user_ids: ColumnElement[Any]
) -> Select[int, int]:
    """The (chat_id, user_id) pairs of two arrays, element by element, that are
    memberships: the membership condition of a statement over several chats."""
    given = select(
        func.unnest(chat_ids, user_ids)
        .table_valued(column("chat_id", BigInteger), column("user_id", BigInteger))
        .render_derived(name="given_pairs")
    ).subquery("pairs")
    return select(ChatMember.chat_id, ChatMember.user_id).where(
        tuple_(ChatMember.chat_id, ChatMember.user_id).in_(select(given.c.chat_id, given.c.user_id))
    )


def lock_free_chats_for_members(
    chat_ids: ColumnElement[Any], user_ids: ColumnElement[Any]
) -> Select[int]:
    """LOCK_CHAT_FOR_MEMBERS for several chats at once, taking only the rows that are
    free: `chat_ids` and `user_ids` are arrays of pairs, element by element; the id of
    each chat with a member among its users whose row no other transaction holds, now
    locked. A transaction that takes several chats' rows so never waits for one (SKIP
    LOCKED): it can neither deadlock with another nor be held up by one busy chat; the
    chats it skips are stored in transactions of their own, which wait
    (messages/lanes.py)."""
    memberships = chat_member_pairs(chat_ids, user_ids).subquery("memberships")
    return (
        select(Chat.id)
        .where(Chat.id.in_(select(memberships.c.chat_id)))
        .order_by(Chat.id)
        .with_for_update(of=Chat, skip_locked=True)
    )

"""The SQL of a change to a stored message (edit, delete for everyone, reaction), each
in one transaction under the chat row lock (chat_transaction.py), so it takes the chat's
next pts exactly like a send does: gapless, in commit order.

A change that changes nothing (the same text, a tombstone deleted again, the reaction
one already has) takes no pts and is answered with the message as it is.
"""

from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chat_server.chats.access import CHAT
from chat_server.chats.models import Chat
from chat_server.errors import Forbidden, NotFound
from chat_server.groups.models import Group
from chat_server.messages.chat_transaction import run_locked
from chat_server.messages.models import Message, Reaction
from chat_server.messages.outcomes import Change, Changed, ChangeOutcome, Delete, Edit, React
from chat_server.messages.views import load_messages

_SEQ = bindparam("seq", type_=BigInteger)
_TARGET = select(
    Message.id, Message.sender_id, Message.text, Message.deleted_at.is_not(None).label("deleted")
).where(Message.chat_id == CHAT, Message.seq == _SEQ)
_CREATOR = select(Group.creator_id).where(Group.chat_id == CHAT)
# The chat's next change number, in the statement that stamps it on the message.
_NEXT_PTS = (
    update(Chat).where(Chat.id == CHAT).values(last_pts=Chat.last_pts + 1).returning(Chat.last_pts)
).cte("next_pts")
_MESSAGE_ID = bindparam("message_id", type_=BigInteger)
_REACTION_USER = bindparam("user", type_=BigInteger)


async def apply_change(engine: AsyncEngine, *, chat_id: int, change: Change) -> ChangeOutcome:
    """Apply one change in its own transaction; Refused when the user is not a member of
    the chat (or there is no chat). NotFound / Forbidden are raised, nothing changed."""

    async def work(conn: AsyncConnection) -> Changed:
        target = (await conn.execute(_TARGET, {"chat": chat_id, "seq": change.seq})).one_or_none()
        if target is None:
            raise NotFound("message not found")
        match change:
            case Edit():
                changed = await _edit(conn, chat_id, target, change)
            case Delete():
                changed = await _delete(conn, chat_id, target, change)
            case React():
                changed = await _react(conn, chat_id, target, change)
        [message] = await load_messages(conn, [target.id])
        return Changed(message=message, changed=changed)

    return await run_locked(engine, chat_id=chat_id, user_ids=[change.user_id], work=work)


async def _stamp(conn: AsyncConnection, chat_id: int, message_id: int, **values: Any) -> None:
    """Set `values` on the message together with the chat's next pts."""
    await conn.execute(
        update(Message)
        .where(Message.id == _MESSAGE_ID)
        .values(pts=select(_NEXT_PTS.c.last_pts).scalar_subquery(), **values),
        {"chat": chat_id, "message_id": message_id},
    )


async def _edit(conn: AsyncConnection, chat_id: int, target: Any, edit: Edit) -> bool:
    if target.deleted:
        raise NotFound("message not found")
    if target.sender_id != edit.user_id:
        raise Forbidden("only its sender can edit a message")
    if target.text == edit.text:
        return False
    await _stamp(conn, chat_id, target.id, text=edit.text, edited_at=func.clock_timestamp())
    return True


async def _delete(conn: AsyncConnection, chat_id: int, target: Any, change: Delete) -> bool:
    if target.sender_id != change.user_id:
        creator = (await conn.execute(_CREATOR, {"chat": chat_id})).scalar()
        if creator != change.user_id:
            raise Forbidden("only its sender or the group's creator can delete a message")
    if target.deleted:
        return False
    # The text goes from the row itself (and with it from every quote of it, which is
    # read from here); reactions and the reply go too.
    await _stamp(
        conn,
        chat_id,
        target.id,
        text=None,
        reply_to_seq=None,
        deleted_at=func.clock_timestamp(),
    )
    await conn.execute(delete(Reaction).where(Reaction.message_id == target.id))
    return True


async def _react(conn: AsyncConnection, chat_id: int, target: Any, react: React) -> bool:
    if target.deleted:
        raise NotFound("message not found")
    mine = {"message_id": target.id, "user": react.user_id}
    where = (Reaction.message_id == _MESSAGE_ID, Reaction.user_id == _REACTION_USER)
    current = (await conn.execute(select(Reaction.emoji).where(*where), mine)).scalar()
    if current == react.emoji:
        return False
    if react.emoji is None:
        await conn.execute(delete(Reaction).where(*where), mine)
    else:
        upsert = insert(Reaction).values(
            message_id=_MESSAGE_ID, user_id=_REACTION_USER, emoji=react.emoji
        )
        await conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[Reaction.message_id, Reaction.user_id],
                set_={"emoji": upsert.excluded.emoji, "created_at": func.clock_timestamp()},
            ),
            mine,
        )
    await _stamp(conn, chat_id, target.id)
    return True

"""The SQL of a change to a stored message (edit, delete for everyone, reaction), each
in one transaction under the chat row lock (chat_transaction.py), so it takes the chat's
next pts exactly like a send does: gapless, in commit order.

A change that changes nothing (the same text, a tombstone deleted again, the reaction
one already has) takes no pts and is answered with the message as it is.
"""

from typing import Any

from sqlalchemy import BigInteger, Text, Update, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.chats.access import CHAT
from chat_server.chats.models import Chat
from chat_server.direct_sql import DirectConnection
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


def _stamp_statement(**values: Any) -> Update:
    """Set `values` on the message together with the chat's next pts."""
    return (
        update(Message)
        .where(Message.id == _MESSAGE_ID)
        .values(pts=select(_NEXT_PTS.c.last_pts).scalar_subquery(), **values)
    )


_STAMP_EDIT = _stamp_statement(
    text=bindparam("new_text", type_=Text), edited_at=func.clock_timestamp()
)
# The text goes from the row itself (and with it from every quote of it, which is read
# from here); the reply goes too.
_STAMP_DELETE = _stamp_statement(text=None, reply_to_seq=None, deleted_at=func.clock_timestamp())
_STAMP = _stamp_statement()
_DELETE_REACTIONS = delete(Reaction).where(Reaction.message_id == _MESSAGE_ID)
_MY_REACTION = (Reaction.message_id == _MESSAGE_ID, Reaction.user_id == _REACTION_USER)
_CURRENT_REACTION = select(Reaction.emoji).where(*_MY_REACTION)
_DELETE_REACTION = delete(Reaction).where(*_MY_REACTION)
_upsert = insert(Reaction).values(
    message_id=_MESSAGE_ID, user_id=_REACTION_USER, emoji=bindparam("new_emoji", type_=Text)
)
_SET_REACTION = _upsert.on_conflict_do_update(
    index_elements=[Reaction.message_id, Reaction.user_id],
    set_={"emoji": _upsert.excluded.emoji, "created_at": func.clock_timestamp()},
)


async def apply_change(engine: AsyncEngine, *, chat_id: int, change: Change) -> ChangeOutcome:
    """Apply one change in its own transaction; Refused when the user is not a member of
    the chat (or there is no chat). NotFound / Forbidden are raised, nothing changed."""

    async def work(conn: DirectConnection) -> Changed:
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


async def _edit(conn: DirectConnection, chat_id: int, target: Any, edit: Edit) -> bool:
    if target.deleted:
        raise NotFound("message not found")
    if target.sender_id != edit.user_id:
        raise Forbidden("only its sender can edit a message")
    if target.text == edit.text:
        return False
    await conn.execute(
        _STAMP_EDIT, {"chat": chat_id, "message_id": target.id, "new_text": edit.text}
    )
    return True


async def _delete(conn: DirectConnection, chat_id: int, target: Any, change: Delete) -> bool:
    if target.sender_id != change.user_id:
        creator = (await conn.execute(_CREATOR, {"chat": chat_id})).scalar()
        if creator != change.user_id:
            raise Forbidden("only its sender or the group's creator can delete a message")
    if target.deleted:
        return False
    message = {"chat": chat_id, "message_id": target.id}
    await conn.execute(_STAMP_DELETE, message)
    await conn.execute(_DELETE_REACTIONS, message)
    return True


async def _react(conn: DirectConnection, chat_id: int, target: Any, react: React) -> bool:
    if target.deleted:
        raise NotFound("message not found")
    mine = {"message_id": target.id, "user": react.user_id}
    current = (await conn.execute(_CURRENT_REACTION, mine)).scalar()
    if current == react.emoji:
        return False
    if react.emoji is None:
        await conn.execute(_DELETE_REACTION, mine)
    else:
        await conn.execute(_SET_REACTION, {**mine, "new_emoji": react.emoji})
    await conn.execute(_STAMP, {"chat": chat_id, "message_id": target.id})
    return True

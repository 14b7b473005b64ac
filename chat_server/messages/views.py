"""Messages as clients see them (MessageOut): the row, the quote of the message it
answers, and its reactions, read for a whole page at once (one join for the quotes, one
grouped query for the reactions), never a query per message."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, array_agg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from chat_server import direct_sql
from chat_server.direct_sql import DirectConnection
from chat_server.messages.models import Message, Reaction
from chat_server.messages.schemas import (
    REACTION_USERS_SHOWN,
    REPLY_QUOTE_LENGTH,
    MessageOut,
    ReactionOut,
    ReplyToOut,
)

Executor = AsyncConnection | AsyncSession | DirectConnection
# A row with the columns of messages_with_quotes(), from either way of running SQL.
MessageRow = Row[Any] | direct_sql.Row

QUOTED = aliased(Message, name="quoted")
# The quote's columns, for any statement that joins the quoted message as `quoted`.
QUOTE_COLUMNS = (
    QUOTED.sender_id.label("reply_sender_id"),
    # A literal, not a parameter: callers that run the statements' SQL themselves
    # (bench/send_path.py) pass only the parameters they know.
    func.left(QUOTED.text, literal_column(str(REPLY_QUOTE_LENGTH))).label("reply_text"),
)


def messages_with_quotes() -> Select[Any]:
    """Every column of messages plus the quote of the message each answers; add
    where/order/limit."""
    return select(*Message.__table__.c, *QUOTE_COLUMNS).outerjoin(
        QUOTED,
        and_(QUOTED.chat_id == Message.chat_id, QUOTED.seq == Message.reply_to_seq),
    )


def quoted_page(page: Select[Any], *, descending: bool, by: str = "seq") -> Select[Any]:
    """`page` (a select of messages with its where/order/limit) with the quote of the
    message each answers, looked up after the limit, one index probe per row of the page
    (LIMIT 1 keeps PostgreSQL from turning the probe into a join over the whole chat).
    Ordered again by `by`, as a join may reorder."""
    rows = page.subquery("page")
    quote = (
        select(*QUOTE_COLUMNS)
        .where(QUOTED.chat_id == rows.c.chat_id, QUOTED.seq == rows.c.reply_to_seq)
        .limit(1)
        .lateral("quote")
    )
    order = rows.c[by].desc() if descending else rows.c[by]
    return (
        select(rows, quote.c.reply_sender_id, quote.c.reply_text)
        .outerjoin(quote, true())
        .order_by(order)
    )


def reaction_groups(*where: ColumnElement[bool]) -> Select[int, str, int, Any, datetime]:
    """The reactions of the messages `where` picks, one row per message and emoji:
    `count`, `user_ids` (the first REACTION_USERS_SHOWN, earliest first) and `first`
    (when it was first chosen). Order them with reaction_order."""
    return (
        select(
            Reaction.message_id,
            Reaction.emoji,
            func.count().label("count"),
            array_agg(  # type: ignore[no-untyped-call]
                aggregate_order_by(Reaction.user_id, Reaction.created_at, Reaction.user_id)
            )[1:REACTION_USERS_SHOWN].label("user_ids"),
            func.min(Reaction.created_at).label("first"),
        )
        .where(*where)
        .group_by(Reaction.message_id, Reaction.emoji)
    )


def reaction_order(groups: Any) -> tuple[Any, ...]:
    """Most chosen first; among equals, the one chosen first (`groups`: a FROM of
    reaction_groups)."""
    return groups.c.count.desc(), groups.c.first, groups.c.emoji


_groups = reaction_groups(
    Reaction.message_id == any_(bindparam("message_ids", type_=ARRAY(BigInteger)))
).subquery("groups")
REACTIONS_OF = select(
    _groups.c.message_id, _groups.c.emoji, _groups.c.count, _groups.c.user_ids
).order_by(_groups.c.message_id, *reaction_order(_groups))


async def reactions_of(
    executor: Executor, message_ids: Iterable[int]
) -> dict[int, list[ReactionOut]]:
    """The reactions of these messages, each message's most chosen first."""
    ids = list(message_ids)
    found: dict[int, list[ReactionOut]] = defaultdict(list)
    if not ids:
        return found
    for row in (await executor.execute(REACTIONS_OF, {"message_ids": ids})).all():
        found[row.message_id].append(
            ReactionOut(emoji=row.emoji, count=row.count, user_ids=list(row.user_ids))
        )
    return found


def message_out(row: MessageRow, reactions: list[ReactionOut] | None = None) -> MessageOut:
    """A row of messages_with_quotes() (or any row with the same columns) as the client
    sees it."""
    reply_to = None
    if row.reply_to_seq is not None and row.reply_sender_id is not None:
        reply_to = ReplyToOut(
            seq=row.reply_to_seq, sender_id=row.reply_sender_id, text=row.reply_text
        )
    return MessageOut(
        id=row.id,
        chat_id=row.chat_id,
        sender_id=row.sender_id,
        seq=row.seq,
        pts=row.pts,
        text=row.text,
        created_at=row.created_at,
        edited_at=row.edited_at,
        deleted=row.deleted_at is not None,
        reply_to=reply_to,
        reactions=reactions or [],
        is_read=row.is_read,
        client_msg_id=row.client_msg_id,
    )


async def messages_out(executor: Executor, rows: Sequence[MessageRow]) -> list[MessageOut]:
    """Rows of messages_with_quotes() with their reactions, in the order given."""
    reactions = await reactions_of(executor, (row.id for row in rows))
    return [message_out(row, reactions.get(row.id)) for row in rows]


_MESSAGES = messages_with_quotes().where(
    Message.id == any_(bindparam("message_ids", type_=ARRAY(BigInteger)))
)


async def load_messages(executor: Executor, message_ids: Sequence[int]) -> list[MessageOut]:
    """These messages in their current state, in the order given (missing ids left out)."""
    if not message_ids:
        return []
    rows = (await executor.execute(_MESSAGES, {"message_ids": list(message_ids)})).all()
    by_id = {row.id: row for row in rows}
    ordered = [by_id[message_id] for message_id in message_ids if message_id in by_id]
    return await messages_out(executor, ordered)

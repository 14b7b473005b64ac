"""Reading a chat page by page: history by seq, and catch-up of changes by pts.

A page is one statement: the caller's membership (with the chat's last_seq, the count),
the page's rows by an index range, each row's quote and its reactions. One round trip,
no transaction (one statement sees one snapshot), run straight on asyncpg
(direct_sql.py): a page is read far more often than anything is written, and the
round trips and SQLAlchemy's execution layer were most of its time (bench/compare.py).
PostgreSQL writes the page as MessageOut JSON, value for value what pydantic writes:
REST sends it as it is, and only the socket `sync` reads it into objects.

The statements are fixed, with every bound a parameter, and each runs as a function of
the connection's own (direct_sql.ServerFunction), so PostgreSQL plans it once per
connection; tests/messages/test_history_depth.py checks that plan reads only the page's
rows at any depth.
"""

from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.chats.access import CHAT
from chat_server.chats.models import Chat, ChatMember
from chat_server.db import BIGINT_MAX
from chat_server.direct_sql import ServerFunction, direct_connection
from chat_server.errors import NotFound, Unauthorized, ValidationFailed
from chat_server.messages.models import Message, Reaction
from chat_server.messages.schemas import MessageOut
from chat_server.messages.views import QUOTE_COLUMNS, QUOTED, reaction_groups, reaction_order
from chat_server.users.models import User

MAX_PAGE = 200
_MESSAGES = TypeAdapter(list[MessageOut])

_USER = bindparam("user", type_=BigInteger)
_AFTER = bindparam("after", type_=BigInteger)
_BEFORE = bindparam("before", type_=BigInteger)
_OFFSET = bindparam("offset", type_=BigInteger)
_LIMIT = bindparam("limit", type_=BigInteger)


class PageOrder(Enum):
    SEQ = "seq"  # ascending from a seq: `after < seq < before`
    SEQ_NEWEST_FIRST = "seq, newest first"  # the page just before a seq
    PTS = "pts"  # ascending from a pts: `after < pts`


def _reactions_of(page: Any) -> Any:
    """The reactions of the page's messages, one row per reacted message: `reactions`,
    a JSON array, most chosen first, then the one chosen first. One grouped query for
    the page: a subquery per row cost PostgreSQL a fifth of the page's time even when
    no message had a reaction."""
    grouped = reaction_groups(Reaction.message_id.in_(select(page.c.id))).cte("grouped")
    entry = func.json_build_object(
        literal_column("'emoji'"),
        grouped.c.emoji,
        literal_column("'count'"),
        grouped.c.count,
        literal_column("'user_ids'"),
        grouped.c.user_ids,
    )
    listed = func.json_agg(aggregate_order_by(entry, *reaction_order(grouped)))
    return (
        select(grouped.c.message_id, listed.label("reactions"))
        .group_by(grouped.c.message_id)
        .cte("reacted")
    )


def _page_statement(order: PageOrder) -> Select[Any]:
    """One row when the caller is a member (none otherwise): the chat's last_seq and the
    page as a JSON array of MessageOut objects, ascending."""
    access = (
        select(Chat.last_seq)
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .where(Chat.id == CHAT, ChatMember.user_id == _USER)
        .cte("access")
    )
    rows = select(*Message.__table__.c).where(Message.chat_id == CHAT)
    match order:
        case PageOrder.SEQ:
            rows = rows.where(Message.seq > _AFTER, Message.seq < _BEFORE).order_by(Message.seq)
        case PageOrder.SEQ_NEWEST_FIRST:
            # `offset` back from the bound, the bound at most one past the last message.
            upper = func.least(_BEFORE, access.c.last_seq + 1) - _OFFSET
            rows = rows.where(Message.seq < upper).order_by(Message.seq.desc())
        case PageOrder.PTS:
            rows = rows.where(Message.pts > _AFTER).order_by(Message.pts)
    # A CTE, so that the reactions are read for the page's rows in one query.
    paged = rows.limit(_LIMIT).lateral("paged")
    page = select(paged).select_from(access.join(paged, true())).cte("page")
    quote = (
        select(*QUOTE_COLUMNS)
        .where(QUOTED.chat_id == page.c.chat_id, QUOTED.seq == page.c.reply_to_seq)
        .limit(1)  # an index probe per row, never a join over the whole chat
        .lateral("quote")
    )
    reactions = _reactions_of(page)
    # The quote as views.message_out makes it: none when the message answers none, or
    # when the one it answers is not there.
    reply_to = case(
        (
            and_(page.c.reply_to_seq.is_not(None), quote.c.reply_sender_id.is_not(None)),
            _json_object(
                seq=page.c.reply_to_seq, sender_id=quote.c.reply_sender_id, text=quote.c.reply_text
            ),
        )
    )
    # MessageOut's fields, by name, shape and order: each row becomes one object, its
    # columns the keys (a whole row to JSON costs PostgreSQL less than json_build_object
    # with the names spelt out: 0.40-0.46 against 0.47-0.54 ms of its CPU per page).
    message = (
        select(
            page.c.id,
            page.c.chat_id,
            page.c.sender_id,
            page.c.seq,
            page.c.pts,
            page.c.text,
            _utc_time(page.c.created_at).label("created_at"),
            _utc_time(page.c.edited_at).label("edited_at"),
            page.c.deleted_at.is_not(None).label("deleted"),
            reply_to.label("reply_to"),
            func.coalesce(reactions.c.reactions, literal_column("'[]'::json")).label("reactions"),
            page.c.is_read,
            page.c.client_msg_id,
        )
        .select_from(
            page.outerjoin(quote, true()).outerjoin(reactions, reactions.c.message_id == page.c.id)
        )
        .subquery("message")
    )
    by = message.c.pts if order is PageOrder.PTS else message.c.seq  # the page ascending
    messages = (
        select(func.json_agg(aggregate_order_by(message.table_valued(), by)))
        .select_from(message)
        .scalar_subquery()
    )
    return select(
        access.c.last_seq.label("chat_last_seq"),
        # As text: REST sends it as it is, sync has pydantic read it (HistoryPage).
        cast(func.coalesce(messages, literal_column("'[]'::json")), Text).label("messages"),
    ).select_from(access)


def _utc_time(timestamp: Any) -> ColumnElement[Any]:
    """A timestamptz as pydantic's JSON writes a UTC datetime, so that the page's JSON is
    what pydantic would answer: `2026-05-14T09:30:12.418000Z`, six digits of fraction
    always, none at all on a whole second (`…T09:30:12Z`). PostgreSQL's own JSON would
    write the session's offset and cut trailing zeros (`.418+00:00`). NULL stays NULL."""
    written = func.to_char(
        func.timezone(literal_column("'UTC'"), timestamp),
        literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""),
    )
    return func.replace(written, literal_column("'.000000Z'"), literal_column("'Z'"))


def _json_object(**fields: Any) -> ColumnElement[Any]:
    """json_build_object('name', value, …) of `fields`."""
    pairs: list[Any] = []
    for name, value in fields.items():
        pairs += [literal_column(f"'{name}'"), value]
    return func.json_build_object(*pairs)


# Each run as a function of the connection's own: planned once per connection, not on
# every page (direct_sql.ServerFunction; test_history_depth checks that one plan).
PAGES = {
    order: ServerFunction(f"history_page_{order.name.lower()}", _page_statement(order))
    for order in PageOrder
}
_USER_EXISTS = select(User.id).where(User.id == _USER)


@dataclass(frozen=True)
class HistoryPage:
    # The page as a JSON array of MessageOut objects, written by PostgreSQL exactly as
    # pydantic writes them (tests/messages/test_history_json.py): REST sends it as it is.
    json: str
    total: int  # messages in the chat, tombstones included (seq is gapless)

    @property
    def messages(self) -> list[MessageOut]:
        """The page read by pydantic, for callers that need the objects (socket `sync`)."""
        return _MESSAGES.validate_json(self.json)


async def list_history(
    *,
    engine: AsyncEngine,
    user_id: int,
    chat_id: int,
    limit: int = 50,
    offset: int = 0,
    after_seq: int | None = None,
    before_seq: int | None = None,
) -> HistoryPage:
    """A page of a chat's messages, ascending by send time.

    Ordered by seq: seq and send time agree by construction (both are taken under the
    chat row lock), and seq is what the unique index serves. `after_seq` pages forward
    from a point; `before_seq` returns the page just before a point (still ascending).
    seq is gapless from 1 to the chat's last_seq, so skipping `offset` messages is moving
    a bound by `offset`: an index range at any depth, instead of reading and dropping rows.
    """
    _check_limit(limit)
    if offset < 0:
        raise ValidationFailed("offset must not be negative")
    params: dict[str, Any] = {"chat": chat_id, "user": user_id, "limit": limit}
    if before_seq is not None and after_seq is None:  # the page just before, newest first
        order = PageOrder.SEQ_NEWEST_FIRST
        params |= {"before": before_seq, "offset": offset}
    else:
        order = PageOrder.SEQ
        after = (after_seq or 0) + offset
        params |= {"after": min(after, BIGINT_MAX), "before": before_seq or BIGINT_MAX}
    return await _read_page(engine, order, params)


async def list_changes(
    *, engine: AsyncEngine, user_id: int, chat_id: int, after_pts: int, limit: int = 100
) -> HistoryPage:
    """Catch-up of changes: every message whose latest change is newer than `after_pts`
    (new, edited, deleted, reacted to), each once in its current state, ascending by
    pts. The next page starts after the last message's pts; nothing is skipped, as a
    message that changes again meanwhile moves to a pts after it."""
    _check_limit(limit)
    if after_pts < 0:
        raise ValidationFailed("after_pts must not be negative")
    params = {"chat": chat_id, "user": user_id, "limit": limit, "after": after_pts}
    return await _read_page(engine, PageOrder.PTS, params)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}")


async def _read_page(engine: AsyncEngine, order: PageOrder, params: dict[str, Any]) -> HistoryPage:
    async with direct_connection(engine) as conn:
        rows = await conn.execute(PAGES[order], params)
        if not rows:
            # No access: "no such chat" and "not a member" are one answer; a token
            # whose user is gone (a database reset, say) is not signed in.
            if not await conn.execute(_USER_EXISTS, params):
                raise Unauthorized("unknown user")
            raise NotFound("chat not found")
    [page] = rows
    return HistoryPage(json=page["messages"], total=page["chat_last_seq"])

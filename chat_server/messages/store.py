"""The send path's SQL: one statement stores a batch of sends into one or more chats.

Sending is the hot path, so it skips the ORM unit of work (several times the CPU per
message, see bench/send_path.py) and runs one SQLAlchemy Core statement, built from the
models (a renamed column fails at import, not at run time): the membership check, the
duplicate lookup, the check that a replied-to message exists, taking each chat's next
seqs and pts and the insert, right after the chats' row locks are taken: by the first
statement of the same call on the send path (STORE_SENDS_IN_FREE_CHATS,
STORE_SENDS_IN_CHAT), by a statement of its own for the seed (chat_transaction.py).
"""

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, array, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from chat_server.chats.access import (
    CHAT,
    chat_member_pairs,
    lock_chat_for_members,
    lock_free_chats_for_members,
    members_among,
)
from chat_server.chats.models import Chat
from chat_server.direct_sql import DirectConnection, FirstStep, Rows, ServerFunction
from chat_server.messages.chat_transaction import HeldLock, SelfLocking, run_self_locking
from chat_server.messages.models import Message
from chat_server.messages.outcomes import (
    Duplicate,
    NoSuchReply,
    Refused,
    Send,
    SendOutcome,
    Stored,
)
from chat_server.messages.views import QUOTE_COLUMNS, QUOTED, load_messages, message_out

logger = logging.getLogger(__name__)
_CHAT_IDS = bindparam("chat_ids", type_=ARRAY(BigInteger))
_SENDER_IDS = bindparam("sender_ids", type_=ARRAY(BigInteger))
_LOCKED_CHAT_IDS = bindparam("locked_chat_ids", type_=ARRAY(BigInteger))


def _store_sends_statement(*, into_locked_chats: bool = False) -> Select[Any]:
    """One row per send, in the order given (sends into several chats: `chat_ids` and
    the other arrays are read element by element): whether its sender is a member of
    its chat, and the message with its (sender_id, client_msg_id), `is_new` when this
    statement stored it, with the quote of the message it answers. A member's send
    without a message is one whose reply_to_seq names no message of its chat: nothing
    was stored for it.

    `into_locked_chats`: only the sends into the chats of `locked_chat_ids` (those whose
    rows the transaction holds) are stored and answered, each row with its send's chat
    (`into_chat_id`) and the transaction's id (`xact`, see chat_transaction.py).

    Under the row locks of the chats (taken just before, see above), so the seqs and pts taken
    from chats are gapless, and clock_timestamp() makes send-time order agree with seq
    order (a chat's sends of one statement share one time). A send with one of these
    ids committed elsewhere after this snapshot makes the INSERT fail on the unique
    key, which undoes the seqs as well: no gaps.
    """
    given = (
        func.unnest(
            _CHAT_IDS,
            _SENDER_IDS,
            bindparam("texts", type_=ARRAY(Text)),
            bindparam("client_msg_ids", type_=ARRAY(Uuid)),
            bindparam("reply_to_seqs", type_=ARRAY(BigInteger)),
        )
        .table_valued(
            column("chat_id", BigInteger),
            column("sender_id", BigInteger),
            column("text", Text),
            column("client_msg_id", Uuid),
            column("reply_to_seq", BigInteger),
            with_ordinality="ord",
        )
        .render_derived(name="given")
    )
    taken = select(given)
    if into_locked_chats:
        taken = taken.where(given.c.chat_id == any_(_LOCKED_CHAT_IDS))
    sends = taken.cte("sends")
    members = chat_member_pairs(_CHAT_IDS, _SENDER_IDS).cte("members")
    is_member = tuple_(sends.c.chat_id, sends.c.sender_id).in_(
        select(members.c.chat_id, members.c.user_id)
    )
    same_key = tuple_(Message.sender_id, Message.client_msg_id)
    earlier = (
        select(Message)
        .where(same_key.in_(select(sends.c.sender_id, sends.c.client_msg_id)))
        .cte("earlier")
    )
    replied = aliased(Message, name="replied")
    fresh = (  # the first send of each new id, from members only, answering a message
        select(sends)
        .ext(distinct_on(sends.c.sender_id, sends.c.client_msg_id))
        .where(
            is_member,
            ~exists().where(
                earlier.c.sender_id == sends.c.sender_id,
                earlier.c.client_msg_id == sends.c.client_msg_id,
            ),
            or_(
                sends.c.reply_to_seq.is_(None),
                exists().where(
                    replied.chat_id == sends.c.chat_id, replied.seq == sends.c.reply_to_seq
                ),
            ),
        )
        .order_by(sends.c.sender_id, sends.c.client_msg_id, sends.c.ord)
        .cte("fresh")
    )
    numbered = select(
        fresh,
        func.row_number().over(partition_by=fresh.c.chat_id, order_by=fresh.c.ord).label("n"),
        func.count().over(partition_by=fresh.c.chat_id).label("total"),
    ).cte("numbered")
    counts = (
        select(fresh.c.chat_id, func.count().label("stored"))
        .group_by(fresh.c.chat_id)
        .cte("counts")
    )
    next_seq = (  # a send is a change too: it takes a pts alongside its seq
        update(Chat)
        .where(Chat.id == counts.c.chat_id)
        .values(last_seq=Chat.last_seq + counts.c.stored, last_pts=Chat.last_pts + counts.c.stored)
        .returning(Chat.id, Chat.last_seq, Chat.last_pts, func.clock_timestamp().label("sent_at"))
        .cte("next_seq")
    )
    stored = (
        insert(Message)
        .from_select(
            [
                Message.chat_id,
                Message.sender_id,
                Message.text,
                Message.client_msg_id,
                Message.seq,
                Message.pts,
                Message.reply_to_seq,
                Message.created_at,
            ],
            select(
                numbered.c.chat_id,
                numbered.c.sender_id,
                numbered.c.text,
                numbered.c.client_msg_id,
                next_seq.c.last_seq - numbered.c.total + numbered.c.n,
                next_seq.c.last_pts - numbered.c.total + numbered.c.n,
                numbered.c.reply_to_seq,
                next_seq.c.sent_at,
            ).select_from(numbered.join(next_seq, next_seq.c.id == numbered.c.chat_id)),
        )
        .returning(*Message.__table__.c)
        .cte("stored")
    )
    found = union_all(select(true().label("is_new"), stored), select(false(), earlier)).cte("found")
    # New for the one send DISTINCT ON chose: another send of the same id (into another
    # chat, say) finds that message too, and must not be answered as its sender.
    chosen = and_(found.c.is_new, sends.c.ord.in_(select(fresh.c.ord))).label("is_new")
    message = [c for c in found.c if c.key != "is_new"]
    quoted = QUOTED
    locked: list[Any] = []
    if into_locked_chats:
        xact = cast(func.pg_current_xact_id(), Text)
        locked = [sends.c.chat_id.label("into_chat_id"), xact.label("xact")]
    return (
        select(is_member.label("is_member"), chosen, *message, *QUOTE_COLUMNS, *locked)
        .select_from(
            sends.outerjoin(
                found,
                and_(
                    found.c.sender_id == sends.c.sender_id,
                    found.c.client_msg_id == sends.c.client_msg_id,
                ),
            ).outerjoin(
                quoted,
                and_(quoted.chat_id == found.c.chat_id, quoted.seq == found.c.reply_to_seq),
            )
        )
        .order_by(sends.c.ord)
    )


# Run as a function of the connection's own: planned once per connection, not per call.
STORE_SENDS = ServerFunction("store_sends", _store_sends_statement())
# The send path's calls: each locks its chats' rows, then stores their sends (a
# statement of its own, which sees what committed while the lock was being taken), so
# BEGIN, the call and COMMIT are the transaction's round trips.
_INTO_LOCKED_CHATS = _store_sends_statement(into_locked_chats=True)
# Any number of chats, only the rows that are free (the store lane's shared transaction).
_free = lock_free_chats_for_members(_CHAT_IDS, _SENDER_IDS).subquery("free")
STORE_SENDS_IN_FREE_CHATS = ServerFunction(
    "store_sends_in_free_chats",
    _INTO_LOCKED_CHATS,
    first=FirstStep(_LOCKED_CHAT_IDS.key, select(func.array_agg(_free.c.id))),
)
# One chat, waiting for its row (`chat`: every send is into it).
_chat = lock_chat_for_members(CHAT, _SENDER_IDS, Chat.id).subquery("chat")
STORE_SENDS_IN_CHAT = ServerFunction(
    "store_sends_in_chat",
    _INTO_LOCKED_CHATS,
    first=FirstStep(_LOCKED_CHAT_IDS.key, select(func.array_agg(_chat.c.id))),
)

_SENDER_ID = bindparam("sender", type_=BigInteger)
_membership = select(members_among(CHAT, array([_SENDER_ID])).exists().label("is_member")).subquery(
    "membership"
)
_earlier = (
    select(Message)
    .where(
        Message.sender_id == _SENDER_ID,
        Message.client_msg_id == bindparam("client_msg_id", type_=Uuid),
    )
    .subquery("earlier")
)
# Whether the sender is a member, and the id of their earlier message with this id if any.
LOOK_UP_SEND = select(_membership.c.is_member, _earlier.c.id).select_from(
    _membership.outerjoin(_earlier, true())
)


async def store_sends(
    engine: AsyncEngine, *, chat_id: int, sends: Sequence[Send]
) -> list[SendOutcome]:
    """Store, in one transaction under the chat row lock (waiting for it), the sends
    whose ids are new, in the order given; one outcome per send. Raises when the batch
    failed as a whole (nothing was stored)."""

    params = {"chat": chat_id, **_arguments([(chat_id, send) for send in sends])}
    rows = await run_self_locking(engine, _locking_store(STORE_SENDS_IN_CHAT, params))
    if isinstance(rows, Refused):  # no member among the senders, or no chat
        return [rows for _ in sends]
    return await _answers(engine, rows)


async def store_sends_in_free_chats(
    engine: AsyncEngine, batches: Sequence[tuple[int, Sequence[Send]]]
) -> list[list[SendOutcome] | None]:
    """store_sends for several chats' batches in one transaction that waits for no chat
    row: one call (STORE_SENDS_IN_FREE_CHATS) locks the chats whose rows are free (with
    a member among their senders), then stores their sends. One list of outcomes per
    batch, in the order given; None for a chat it did not lock (its row was held, or
    none of its senders is a member): nothing was stored for it, and store_sends answers
    it. Raises when the transaction failed as a whole (nothing was stored in any
    chat)."""
    if len({chat_id for chat_id, _ in batches}) != len(batches):
        raise ValueError("one batch per chat")

    given = [(chat_id, send) for chat_id, sends in batches for send in sends]
    store = _locking_store(STORE_SENDS_IN_FREE_CHATS, _arguments(given))
    result = await run_self_locking(engine, store)
    rows = Rows() if isinstance(result, Refused) else result
    locked = {row.into_chat_id for row in rows}
    # Read together: a message stored for one chat's send is a duplicate for a later
    # send of the same id, whichever chat that send was for.
    outcomes = await _answers(engine, rows)
    answered: list[list[SendOutcome] | None] = []
    start = 0
    for chat_id, sends in batches:
        if chat_id not in locked:
            answered.append(None)
            continue
        answered.append(outcomes[start : start + len(sends)])
        start += len(sends)
    return answered


def _locking_store(function: ServerFunction, params: dict[str, Any]) -> SelfLocking[Rows]:
    """A store call as work that takes its own locks: the lock it holds comes back on its
    rows (`xact`, `into_chat_id`); no rows, no lock."""

    async def store(conn: DirectConnection) -> tuple[HeldLock | None, Rows]:
        rows = await conn.execute(function, params)
        return (HeldLock(rows[0].xact, rows[0].into_chat_id) if rows else None), rows

    return store


def _arguments(sends: Sequence[tuple[int, Send]]) -> dict[str, list[Any]]:
    """STORE_SENDS's arrays for (chat_id, send) pairs."""
    return {
        "chat_ids": [chat_id for chat_id, _ in sends],
        "sender_ids": [send.sender_id for _, send in sends],
        "texts": [send.text for _, send in sends],
        "client_msg_ids": [send.client_msg_id for _, send in sends],
        "reply_to_seqs": [send.reply_to_seq for _, send in sends],
    }


async def _answers(engine: AsyncEngine, rows: Rows) -> list[SendOutcome]:
    """The outcomes of a committed batch. Never raises: raised now, the batch would be
    run again, and its new messages answered as duplicates and never published."""
    outcomes = _outcomes(rows)
    if any(isinstance(outcome, Duplicate) for outcome in outcomes):
        try:
            outcomes = await _current_duplicates(engine, outcomes)
        except Exception:
            logger.warning(
                "could not read duplicates again after their batch; answered as stored",
                exc_info=True,
            )
    return outcomes


def _outcomes(rows: Rows) -> list[SendOutcome]:
    outcomes: list[SendOutcome] = []
    stored_now: set[int] = set()
    for row in rows:
        if not row.is_member:
            outcomes.append(Refused())
            continue
        if row.id is None:
            outcomes.append(NoSuchReply())
            continue
        message = message_out(row)  # a new message has no reactions yet
        if row.is_new and message.id not in stored_now:
            stored_now.add(message.id)
            outcomes.append(Stored(message))
        else:  # stored before, or by an earlier send of this batch
            outcomes.append(Duplicate(message))
    return outcomes


async def _current_duplicates(
    engine: AsyncEngine, outcomes: list[SendOutcome]
) -> list[SendOutcome]:
    """Duplicates answered with the message as it is now (reactions included): rare,
    so read after the batch's transaction, not inside it."""
    ids = [o.message.id for o in outcomes if isinstance(o, Duplicate)]
    async with engine.connect() as conn:
        current = {message.id: message for message in await load_messages(conn, ids)}
    return [
        Duplicate(current.get(o.message.id, o.message)) if isinstance(o, Duplicate) else o
        for o in outcomes
    ]


async def look_up_send(
    engine: AsyncEngine, *, chat_id: int, sender_id: int, client_msg_id: uuid.UUID
) -> Duplicate | Refused | None:
    """What a send would be answered without storing anything: Refused for a non-member,
    the earlier message with this id, or None when there is none."""
    params = {"chat": chat_id, "sender": sender_id, "client_msg_id": client_msg_id}
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (await autocommit.execute(LOOK_UP_SEND, params)).one()
        if not row.is_member:
            return Refused()
        if row.id is None:
            return None
        [message] = await load_messages(autocommit, [row.id])
    return Duplicate(message)

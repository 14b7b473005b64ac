"""Messages: exactly-once send, read watermarks, history and catch-up, typing.
(Edits, deletes: lifecycle.py; reactions: reactions.py.)"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.access import access_chat
from chat_server.errors import IdempotencyConflict, NotFound, RateLimited, ValidationFailed
from chat_server.events import Publisher, Typing
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.models import MAX_TEXT_LENGTH, Message
from chat_server.messages.outcomes import (
    Duplicate,
    NoSuchReply,
    Read,
    Refused,
    Send,
    Stored,
)
from chat_server.messages.schemas import MessageOut
from chat_server.messages.views import messages_out, quoted_page
from chat_server.rate_limit import RateLimiter
from chat_server.text_rules import storable

MAX_PAGE = 200
Sent = Stored | Duplicate


async def send_message(
    *,
    lanes: ChatLanes,
    rate_limiter: RateLimiter | None,
    sender_id: int,
    chat_id: int,
    text: str,
    client_msg_id: uuid.UUID,
    reply_to_seq: int | None = None,
) -> Sent:
    """Store a message exactly once per (sender, client_msg_id) and publish it once.

    The UNIQUE (sender_id, client_msg_id) constraint is the guarantee: a repeated id
    returns the earlier message as a Duplicate, and a parallel send with the same id
    makes the insert fail, undoing its seq, so duplicates never burn a number (see
    store.py). Sends into one chat are stored in batches and published in seq order
    (see lanes.py). `reply_to_seq` must name a message of the same chat (NotFound).
    """
    check_text(text)
    if reply_to_seq is not None and reply_to_seq < 1:
        raise ValidationFailed("reply_to_seq must be at least 1")
    send = Send(sender_id, text, client_msg_id, reply_to_seq)
    if rate_limiter is not None:
        try:
            await rate_limiter.check("message", str(sender_id))
        except RateLimited:
            # Over the limit, a retry of a stored message is still answered.
            earlier = await lanes.look_up(chat_id, send)
            if earlier is None:
                raise
            return _answer(earlier, send, chat_id=chat_id)
    outcome = await lanes.send(chat_id, send)
    return _answer(outcome, send, chat_id=chat_id)


def check_text(text: str) -> None:
    """ValidationFailed unless `text` is a message text a send or an edit may store."""
    # The edges validate with pydantic already; services are also called directly.
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_LENGTH:
        raise ValidationFailed(f"text must be 1 to {MAX_TEXT_LENGTH} characters and not blank")
    try:
        storable(text)  # one unstorable text would fail its whole batch
    except ValueError as exc:
        raise ValidationFailed(f"text {exc}") from None


def _answer(
    outcome: Stored | Duplicate | NoSuchReply | Refused, send: Send, *, chat_id: int
) -> Sent:
    if isinstance(outcome, Refused):
        raise NotFound("chat not found")
    if isinstance(outcome, NoSuchReply):
        raise NotFound("the message replied to was not found")
    if isinstance(outcome, Duplicate) and not _same_send(outcome.message, send, chat_id):
        raise IdempotencyConflict("this client_msg_id was already used for a different message")
    return outcome


def _same_send(message: MessageOut, send: Send, chat_id: int) -> bool:
    """Whether `send` retries the send that stored `message`. Only what the message still
    holds can be compared: an edit replaced its text, a delete its text and reply."""
    if message.chat_id != chat_id:
        return False
    if message.deleted:
        return True
    replied = message.reply_to.seq if message.reply_to else None
    return replied == send.reply_to_seq and (
        message.edited_at is not None or message.text == send.text
    )


async def mark_read(*, lanes: ChatLanes, user_id: int, chat_id: int, seq: int) -> int:
    """Move the caller's watermark forward to `seq` (never back, never past the last
    message) and return it. Messages that thereby become read by everyone are flipped
    and their senders are told, once."""
    if seq < 0:
        raise ValidationFailed("seq must not be negative")
    outcome = await lanes.read(chat_id, Read(user_id=user_id, seq=seq))
    if isinstance(outcome, Refused):
        raise NotFound("chat not found")
    return outcome.current


@dataclass(frozen=True)
class HistoryPage:
    messages: list[MessageOut]
    total: int


async def list_history(
    *,
    session: AsyncSession,
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
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise ValidationFailed("offset must not be negative")
    chat, _ = await access_chat(session, user_id=user_id, chat_id=chat_id)
    after, before, newest_first = page_bounds(offset, after_seq, before_seq, chat.last_seq)
    if (after is not None and after >= chat.last_seq) or (before is not None and before <= 1):
        return HistoryPage(messages=[], total=chat.last_seq)
    stmt = history_statement(chat_id, limit, after, before, newest_first)
    rows = list((await session.execute(stmt)).all())
    if newest_first:
        rows.reverse()
    messages = await messages_out(session, rows)
    # A deleted message stays as a tombstone and seq is gapless, so this is the count.
    return HistoryPage(messages=messages, total=chat.last_seq)


async def list_changes(
    *, session: AsyncSession, user_id: int, chat_id: int, after_pts: int, limit: int = 100
) -> HistoryPage:
    """Catch-up of changes: every message whose latest change is newer than `after_pts`
    (new, edited, deleted, reacted to), each once in its current state, ascending by
    pts. The next page starts after the last message's pts; nothing is skipped, as a
    message that changes again meanwhile moves to a pts after it."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}")
    if after_pts < 0:
        raise ValidationFailed("after_pts must not be negative")
    chat, _ = await access_chat(session, user_id=user_id, chat_id=chat_id)
    page = (
        select(*Message.__table__.c)
        .where(Message.chat_id == chat_id, Message.pts > after_pts)
        .order_by(Message.pts)
        .limit(limit)
    )
    rows = list((await session.execute(quoted_page(page, descending=False, by="pts"))).all())
    return HistoryPage(messages=await messages_out(session, rows), total=chat.last_seq)


def page_bounds(
    offset: int, after_seq: int | None, before_seq: int | None, last_seq: int
) -> tuple[int | None, int | None, bool]:
    """The exclusive seq bounds of a page and whether it is read newest first.

    seq is gapless from 1 to the chat's last_seq, so skipping `offset` rows is moving a
    bound by `offset`: an index range on (chat_id, seq) at any depth, instead of reading
    and dropping rows.
    """
    if before_seq is not None and after_seq is None:  # the page just before, newest first
        return None, min(before_seq, last_seq + 1) - offset, True
    return (after_seq or 0) + offset, before_seq, False


def history_statement(
    chat_id: int, limit: int, after: int | None, before: int | None, newest_first: bool
) -> Select[Any]:
    # Columns with the quote, not ORM objects: a page is only read, and loading 50
    # instances into the session cost more than the query (bench/compare.py's profile).
    stmt = select(*Message.__table__.c).where(Message.chat_id == chat_id)
    if after is not None:
        stmt = stmt.where(Message.seq > after)
    if before is not None:
        stmt = stmt.where(Message.seq < before)
    page = stmt.order_by(Message.seq.desc() if newest_first else Message.seq).limit(limit)
    return quoted_page(page, descending=newest_first)


async def notify_typing(
    *,
    session: AsyncSession,
    publisher: Publisher,
    user_id: int,
    chat_id: int,
    origin: str | None = None,
) -> None:
    """Tell the chat's other members that the caller is typing."""
    await access_chat(session, user_id=user_id, chat_id=chat_id)
    await publisher.publish(Typing(chat_id=chat_id, user_id=user_id, origin=origin))

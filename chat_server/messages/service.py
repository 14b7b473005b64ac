"""Messages: exactly-once send, read watermarks, typing.
(Edits, deletes: lifecycle.py; reactions: reactions.py; pages: history.py.)"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.access import access_chat
from chat_server.errors import IdempotencyConflict, NotFound, RateLimited, ValidationFailed
from chat_server.events import Publisher, Typing
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.models import MAX_TEXT_LENGTH
from chat_server.messages.outcomes import (
    Duplicate,
    NoSuchReply,
    Read,
    Refused,
    Send,
    Stored,
)
from chat_server.messages.schemas import MessageOut
from chat_server.rate_limit import RateLimiter
from chat_server.text_rules import storable

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

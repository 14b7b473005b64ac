"""Edit and delete for everyone: what happens to a message after it was sent.

Both go through the chat's message lane (lanes.py), so they take the chat's next pts
under the chat row lock like a send, and `message_updated` is published after commit,
once, in pts order with the chat's `message` events. SQL: changes.py.
"""

from chat_server.errors import NotFound, ValidationFailed
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.outcomes import Change, Delete, Edit, Refused
from chat_server.messages.schemas import MessageOut
from chat_server.messages.service import check_text
from chat_server.rate_limit import RateLimiter


async def edit_message(
    *,
    lanes: ChatLanes,
    rate_limiter: RateLimiter | None,
    user_id: int,
    chat_id: int,
    seq: int,
    text: str,
) -> MessageOut:
    """Replace the text of the caller's own message (Forbidden for anyone else's,
    NotFound for a tombstone); the same text again changes nothing."""
    check_text(text)
    return await apply(lanes, rate_limiter, chat_id, Edit(user_id=user_id, seq=seq, text=text))


async def delete_message(
    *, lanes: ChatLanes, rate_limiter: RateLimiter | None, user_id: int, chat_id: int, seq: int
) -> MessageOut:
    """Delete a message for everyone: the sender may, and a group's creator may for any
    message in the group (Forbidden otherwise). It stays as a tombstone (id and seq
    kept, text, reply and reactions gone); deleting a tombstone changes nothing."""
    return await apply(lanes, rate_limiter, chat_id, Delete(user_id=user_id, seq=seq))


async def apply(
    lanes: ChatLanes, rate_limiter: RateLimiter | None, chat_id: int, change: Change
) -> MessageOut:
    """Run a change through the chat's lane; the message in its state afterwards."""
    if change.seq < 1:
        raise ValidationFailed("seq must be at least 1")
    if rate_limiter is not None:  # a change writes like a send, and counts like one
        await rate_limiter.check("message", str(change.user_id))
    outcome = await lanes.change(chat_id, change)
    if isinstance(outcome, Refused):
        raise NotFound("chat not found")
    return outcome.message

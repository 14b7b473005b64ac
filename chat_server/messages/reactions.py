"""Reactions: each member's one emoji on a message, from a server-side allow-list."""

from chat_server.errors import ValidationFailed
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.lifecycle import apply
from chat_server.messages.outcomes import React
from chat_server.messages.schemas import ALLOWED_EMOJI, MessageOut
from chat_server.rate_limit import RateLimiter


async def set_reaction(
    *,
    lanes: ChatLanes,
    rate_limiter: RateLimiter | None,
    user_id: int,
    chat_id: int,
    seq: int,
    emoji: str | None,
) -> MessageOut:
    """Set the caller's reaction on a message (replacing theirs), or remove it with
    `emoji=None`. Not on a tombstone (NotFound); the reaction one already has, or
    removing none, changes nothing."""
    if emoji is not None and emoji not in ALLOWED_EMOJI:
        raise ValidationFailed(f"emoji must be one of {' '.join(ALLOWED_EMOJI)}")
    return await apply(lanes, rate_limiter, chat_id, React(user_id=user_id, seq=seq, emoji=emoji))

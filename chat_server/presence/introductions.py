"""Who hears of whom when people first share a chat (a new private chat, a new group,
a member added): presence otherwise only moves when someone connects or disconnects."""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from chat_server.chats.schemas import MemberOut
from chat_server.events import PresenceIntroduced, PresenceStatus, Publisher
from chat_server.presence.store import PresenceStore

logger = logging.getLogger(__name__)


def iso_or_none(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def introduce_chat_mates(
    *,
    presence: PresenceStore,
    publisher: Publisher,
    members: Sequence[MemberOut],
    joiner_ids: Sequence[int],
) -> None:
    """After `joiner_ids` joined a chat of `members`: those online hear of each other,
    online or when last seen. A joiner hears of everyone; those already there, of the
    joiners."""
    last_seen = {member.user_id: iso_or_none(member.last_seen_at) for member in members}
    try:
        online = await presence.online_among(list(last_seen))
    except Exception:  # the join itself is done; dots catch up on the next connect
        logger.exception("presence lookup for new chat-mates failed")
        return
    now = datetime.now(UTC).isoformat()
    joiners, up = set(joiner_ids), set(online)
    for receiver in online:  # the others have no socket to tell
        news = set(last_seen) if receiver in joiners else joiners
        statuses = [
            PresenceStatus(user_id, user_id in up, now if user_id in up else last_seen.get(user_id))
            for user_id in sorted(news - {receiver})
        ]
        if statuses:
            await publisher.publish(PresenceIntroduced(user_id=receiver, statuses=statuses))

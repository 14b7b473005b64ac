"""Presence as users see it: coming online, going offline (a closed last tab, or a
crashed process's connections timing out), and who hears of whom when people first
share a chat (introductions.py). The store (store.py, redis_store.py) only counts
connections."""

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.service import chat_ids_of_user, contacts_last_seen
from chat_server.db import SessionFactory
from chat_server.events import PresenceChanged, PresenceSnapshot, PresenceStatus, Publisher
from chat_server.presence.introductions import iso_or_none
from chat_server.presence.store import Departure, PresenceStore
from chat_server.users.service import touch_last_seen

logger = logging.getLogger(__name__)


async def user_connected(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: PresenceStore,
    user_id: int,
    connection_id: str,
) -> list[int]:
    """Count a new connection; announce the user online if it is their first. Returns
    the ids of the user's chats (the connection subscribes to them)."""
    chat_ids = await chat_ids_of_user(session, user_id)
    contacts = await contacts_last_seen(session, user_id)
    await session.commit()  # give the connection back before the Redis round trips
    now = datetime.now(UTC).isoformat()
    if await presence.connected(user_id, connection_id):
        await publisher.publish(
            PresenceChanged(user_id=user_id, online=True, last_seen=now, chat_ids=chat_ids)
        )
    online = await presence.online_among(list(contacts))
    up = set(online)
    # Who is online first, then when the others were last seen (None: never).
    statuses = [PresenceStatus(user_id, True, now) for user_id in online] + [
        PresenceStatus(contact_id, False, iso_or_none(last_seen))
        for contact_id, last_seen in contacts.items()
        if contact_id not in up
    ]
    await publisher.publish(PresenceSnapshot(connection_id=connection_id, statuses=statuses))
    return chat_ids


async def user_disconnected(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: PresenceStore,
    user_id: int,
    connection_id: str,
) -> None:
    """Forget a connection; when it was the last one, store last_seen and announce it."""
    if await presence.disconnected(user_id, connection_id):
        await _went_offline(session, publisher, user_id, datetime.now(UTC))


async def users_timed_out(
    departures: list[Departure],
    presence: PresenceStore,
    *,
    sessions: SessionFactory,
    publisher: Publisher,
) -> None:
    """Announce offline the users whose connections died with their process, unless
    they have come back since (their "online" may already be out)."""
    for departure in departures:
        try:
            await _timed_out(departure, presence, sessions=sessions, publisher=publisher)
        except Exception:  # one user's failure must not cost the others their news
            logger.exception("could not announce user %s offline", departure.user_id)


async def _timed_out(
    departure: Departure, presence: PresenceStore, *, sessions: SessionFactory, publisher: Publisher
) -> None:
    async with sessions() as session:
        await _went_offline(
            session, publisher, departure.user_id, departure.last_seen, unless_back=presence
        )


async def _went_offline(
    session: AsyncSession,
    publisher: Publisher,
    user_id: int,
    last_seen: datetime,
    *,
    unless_back: PresenceStore | None = None,
) -> None:
    """Store last_seen and announce the user offline; with `unless_back`, not if they
    are online again by the time of the announcement."""
    await touch_last_seen(session=session, user_id=user_id, at=last_seen)
    chat_ids = await chat_ids_of_user(session, user_id)
    # Asked last, right before the announcement: the user may have just reconnected.
    if unless_back is not None and await unless_back.online_among([user_id]):
        return
    await publisher.publish(
        PresenceChanged(
            user_id=user_id, online=False, last_seen=last_seen.isoformat(), chat_ids=chat_ids
        )
    )

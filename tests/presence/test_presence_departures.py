"""Announcing the users of a crashed process offline: what the server does with the
departures the Redis reaper hands over (real database, recording publisher)."""

from datetime import UTC, datetime, timedelta

from chat_server.events import Event, PresenceChanged, RecordingPublisher
from chat_server.presence.service import users_timed_out
from chat_server.presence.store import Departure, LocalPresence
from tests.support.api import private_chat, register


class FailsFor(RecordingPublisher):
    """Records events, but cannot publish anything about one user."""

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id

    async def publish(self, event: Event) -> None:
        if isinstance(event, PresenceChanged) and event.user_id == self.user_id:
            raise ConnectionError("the message queue is down")
        await super().publish(event)


async def _last_seen(client, user) -> datetime:
    me = (await client.get("/users/me", headers=user.headers)).json()
    return datetime.fromisoformat(me["last_seen_at"])


async def test_one_failed_announcement_does_not_cost_the_others_theirs(client, app):
    alice, bob, carol = [await register(client, n) for n in ("Alice", "Bob", "Carol")]
    chat_id = await private_chat(client, bob, carol)
    when = datetime.now(UTC) - timedelta(seconds=30)
    publisher = FailsFor(alice.id)

    await users_timed_out(
        [Departure(alice.id, when), Departure(bob.id, when)],
        LocalPresence(),
        sessions=app.state.runtime.sessions,
        publisher=publisher,
    )

    assert publisher.events == [
        PresenceChanged(
            user_id=bob.id, online=False, last_seen=when.isoformat(), chat_ids=[chat_id]
        )
    ]
    assert await _last_seen(client, bob) == when


async def test_a_user_back_online_is_not_announced_and_last_seen_never_moves_back(client, app):
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    newer = datetime.now(UTC)
    older = newer - timedelta(minutes=5)
    presence = LocalPresence()
    publisher = RecordingPublisher()
    sessions = app.state.runtime.sessions

    await users_timed_out(
        [Departure(alice.id, newer)], presence, sessions=sessions, publisher=publisher
    )
    await users_timed_out(  # a late report of an older departure
        [Departure(alice.id, older)], presence, sessions=sessions, publisher=publisher
    )
    assert await _last_seen(client, alice) == newer

    await presence.connected(bob.id, "bob-is-back")
    publisher.events.clear()
    await users_timed_out(
        [Departure(bob.id, older)], presence, sessions=sessions, publisher=publisher
    )
    assert publisher.events == []

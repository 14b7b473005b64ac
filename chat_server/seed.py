"""Demo data: four users, a private chat, a "Team" group and a few hundred messages.

Everything is created through the services, exactly as a client would create it, and
every step is idempotent: users are looked up before they are registered, the private
chat is get-or-create, the group is found by name and creator, and each message has a
fixed `client_msg_id`, so the exactly-once send turns a second run into duplicates that
store nothing. Read watermarks only move forward, so re-marking them changes nothing.
"""

import asyncio
import random
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chat_server.chats.service import get_or_create_private_chat, list_member_ids
from chat_server.config import Settings, get_settings
from chat_server.db import make_engine, make_session_factory
from chat_server.errors import Conflict
from chat_server.events import NullPublisher
from chat_server.groups.models import Group
from chat_server.groups.service import add_member, create_group
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.models import Message
from chat_server.messages.service import mark_read, send_message
from chat_server.presence.store import LocalPresence
from chat_server.users.service import find_user_by_email, register_user

SEED_PASSWORD = "password123"
SEED_USERS = ("Alice", "Bob", "Carol", "Dave")
GROUP_NAME = "Team"
PRIVATE_MESSAGES = 120
GROUP_MESSAGES = 240

# client_msg_id = uuid5(namespace, "<chat>/<index>"): the same ids on every run and machine.
_ID_NAMESPACE = uuid.UUID("6f1d8f3e-2b4c-4c55-9a55-5eed0da7a000")
# Serialises concurrent seed runs (e.g. two `docker compose exec app ... seed` at once).
_ADVISORY_LOCK_KEY = 0x5EED_C4A7

# Read watermarks, as "has read the first N seeded messages of that chat". Different
# people are behind by different amounts, which gives a realistic mix of read and
# unread messages and non-zero unread counts for everyone.
_PRIVATE_READ_UP_TO = {"alice": PRIVATE_MESSAGES - 3, "bob": PRIVATE_MESSAGES - 12}
_GROUP_READ_UP_TO = {
    "alice": GROUP_MESSAGES - 7,
    "bob": GROUP_MESSAGES - 25,
    "carol": GROUP_MESSAGES,
    "dave": GROUP_MESSAGES - 90,
}

# Short conversations, one "speaker: text" line per message. In private threads "a" and
# "b" are the two people (Alice and Bob).
_PRIVATE_THREADS = (
    """
    a: Lunch today?
    b: Sure, 12:30?
    a: Perfect. Thai place again?
    b: Yes please, I've been thinking about that curry all week
    a: Ha, deal
    """,
    """
    b: Could you take a look at my pull request when you have a minute?
    a: On it
    a: Left a few comments, mostly naming
    b: Thanks! Fixed them
    a: Approved \N{THUMBS UP SIGN}
    """,
    """
    a: Are you coming to the meetup on Thursday?
    b: Probably, who's talking?
    a: Someone from the database team, about replication
    b: Then definitely
    a: I'll save you a seat
    """,
    """
    b: Did the deploy go out?
    a: Yes, about ten minutes ago
    b: Error rate looks normal
    a: Good, I'll keep an eye on it until the evening
    """,
    """
    a: Any plans for the weekend?
    b: Hiking if the weather holds
    b: You?
    a: Finally fixing my bike
    b: Good luck with that
    a: Thanks, I'll need it
    """,
    """
    b: Quick question: where do the migration files live?
    a: migrations/versions, one file per change
    b: Got it, thanks
    a: And never edit one that's already merged
    """,
    """
    a: Coffee?
    b: Two minutes
    a: \N{HOT BEVERAGE}
    """,
    """
    b: The build is red again
    a: Flaky test or real?
    b: Real, someone renamed a column
    a: I'll revert it
    b: Thank you!
    """,
)
_GROUP_THREADS = (
    """
    alice: Good morning team! Standup in 5 minutes
    bob: Joining
    carol: Running two minutes late
    dave: Here
    """,
    """
    carol: Release checklist for Friday is in the wiki
    alice: Thanks Carol. Anything blocking?
    carol: Just the changelog
    dave: I can write it
    carol: You're a star
    """,
    """
    dave: Heads up: the staging database restarts at 3pm
    bob: How long will it be down?
    dave: About ten minutes
    bob: OK, I'll pause the load test
    """,
    """
    bob: Who broke the login page? \N{GRIMACING FACE}
    alice: Not me!
    carol: Looking...
    carol: A CSS change, fixed on main
    bob: Confirmed, works again
    """,
    """
    alice: Reminder: retro tomorrow at 11
    dave: Should we bring topics?
    alice: Yes, add them to the board
    carol: Added two
    """,
    """
    carol: Pizza on Friday to celebrate the release?
    bob: Yes!
    dave: Count me in
    alice: Absolutely \N{SLICE OF PIZZA}
    """,
    """
    dave: New designs for the chat list are up for review
    alice: Love the unread badges
    bob: Can we keep the timestamps on the right?
    dave: Sure, I'll change that
    carol: Looks great overall
    """,
    """
    bob: Latency is up a bit since this morning
    alice: Which endpoint?
    bob: History paging, offsets over 10k
    carol: Keyset paging should fix that
    bob: Switching the client to before_seq now
    """,
    """
    alice: Welcome to the Team chat, everyone \N{WAVING HAND SIGN}
    carol: Hi all!
    dave: Hello!
    bob: Hey \N{SMILING FACE WITH SMILING EYES}
    """,
    """
    carol: Anyone up for a quick review?
    dave: Send it over
    carol: Thanks, it's the rate limiter change
    dave: Done, one small comment
    """,
)


@dataclass
class SeedSummary:
    """What one seed run created (zeros on a second run) and what exists afterwards."""

    users_created: int = 0
    chats_created: int = 0
    messages_created: int = 0
    messages_total: int = 0
    user_ids: dict[str, int] = field(default_factory=dict)
    private_chat_id: int = 0
    group_chat_id: int = 0


def _script(threads: tuple[str, ...], count: int, salt: int) -> list[tuple[str, str]]:
    """`count` (speaker, text) lines: the threads in a shuffled but fixed order, repeated."""
    parsed = [
        [tuple(part.strip() for part in line.split(":", 1)) for line in thread.strip().splitlines()]
        for thread in threads
    ]
    rng = random.Random(salt)
    lines: list[tuple[str, str]] = []
    while len(lines) < count:
        rng.shuffle(parsed)
        for thread in parsed:
            lines.extend((speaker, line) for speaker, line in thread)
    return lines[:count]


def message_id(chat_key: str, index: int) -> uuid.UUID:
    return uuid.uuid5(_ID_NAMESPACE, f"{chat_key}/{index}")


async def _ensure_users(
    session: AsyncSession, settings: Settings, summary: SeedSummary
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for name in SEED_USERS:
        email = f"{name.lower()}@example.com"
        user = await find_user_by_email(session=session, email=email)
        if user is None:
            try:
                user = await register_user(
                    session=session,
                    settings=settings,
                    name=name,
                    email=email,
                    password=SEED_PASSWORD,
                )
                summary.users_created += 1
            except Conflict:  # registered a moment ago by someone else
                user = await find_user_by_email(session=session, email=email)
                assert user is not None
        ids[name.lower()] = user.id
    return ids


async def _find_group(
    session: AsyncSession, ids: dict[str, int], first_line: tuple[str, str]
) -> Group | None:
    """The group an earlier run seeded: the one holding its first message (so a renamed
    group is still found), else Alice's group named "Team"."""
    seeded_in = (
        select(Message.chat_id)
        .where(
            Message.sender_id == ids[first_line[0]],
            Message.client_msg_id == message_id("team", 0),
        )
        .scalar_subquery()
    )
    group = (
        await session.execute(select(Group).where(Group.chat_id == seeded_in))
    ).scalar_one_or_none()
    if group is not None:
        return group
    return (
        await session.execute(
            select(Group)
            .where(Group.name == GROUP_NAME, Group.creator_id == ids["alice"])
            .order_by(Group.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def _ensure_group(
    session: AsyncSession,
    ids: dict[str, int],
    first_line: tuple[str, str],
    summary: SeedSummary,
) -> int:
    """The chat id of Alice's "Team" group, with all four users in it."""
    publisher = NullPublisher()
    group = await _find_group(session, ids, first_line)
    if group is None:
        created = await create_group(
            session=session,
            publisher=publisher,
            presence=LocalPresence(),
            creator_id=ids["alice"],
            name=GROUP_NAME,
            member_ids=[ids[name] for name in ("bob", "carol", "dave")],
        )
        summary.chats_created += 1
        return created.chat_id
    # Someone may have left the group since the last seed: bring everyone back.
    members = set(await list_member_ids(session, group.chat_id))
    for user_id in sorted(set(ids.values()) - members):
        await add_member(
            session=session,
            publisher=publisher,
            presence=LocalPresence(),
            actor_id=ids["alice"],
            group_id=group.id,
            user_id=user_id,
        )
    return group.chat_id


async def _fill_chat(
    session: AsyncSession,
    engine: AsyncEngine,
    *,
    chat_key: str,
    chat_id: int,
    lines: list[tuple[str, str]],
    ids: dict[str, int],
    read_up_to: dict[str, int],
    summary: SeedSummary,
) -> None:
    lanes = ChatLanes(engine, NullPublisher())
    seqs: list[int] = []
    for index, (speaker, line) in enumerate(lines):
        result = await send_message(
            lanes=lanes,
            rate_limiter=None,  # seeding is not a user hammering the server
            sender_id=ids[speaker],
            chat_id=chat_id,
            text=line,
            client_msg_id=message_id(chat_key, index),
        )
        seqs.append(result.message.seq)
        summary.messages_created += not result.duplicate
        summary.messages_total += 1
    for name, count in read_up_to.items():
        if count > 0:
            await mark_read(
                lanes=lanes,
                user_id=ids[name],
                chat_id=chat_id,
                seq=seqs[count - 1],
            )


async def seed(engine: AsyncEngine, settings: Settings) -> SeedSummary:
    """Create the demo data unless it exists; returns what this run created."""
    summary = SeedSummary()
    sessions = make_session_factory(engine)
    async with sessions() as lock_session:
        # A session-level advisory lock, held on this connection until released below.
        await lock_session.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        try:
            async with sessions() as session:
                ids = await _ensure_users(session, settings, summary)
                summary.user_ids = ids
                private, created = await get_or_create_private_chat(
                    session=session,
                    publisher=NullPublisher(),
                    presence=LocalPresence(),  # nobody is connected to a seed run
                    user_id=ids["alice"],
                    other_user_id=ids["bob"],
                )
                summary.chats_created += created
                summary.private_chat_id = private.id
                group_lines = _script(_GROUP_THREADS, GROUP_MESSAGES, salt=2)
                summary.group_chat_id = await _ensure_group(session, ids, group_lines[0], summary)

                # In the private chat "a" is Alice and "b" is Bob.
                private_lines = [
                    ("alice" if who == "a" else "bob", line)
                    for who, line in _script(_PRIVATE_THREADS, PRIVATE_MESSAGES, salt=1)
                ]
                await _fill_chat(
                    session,
                    engine,
                    chat_key="alice-bob",
                    chat_id=private.id,
                    lines=private_lines,
                    ids=ids,
                    read_up_to=_PRIVATE_READ_UP_TO,
                    summary=summary,
                )
                await _fill_chat(
                    session,
                    engine,
                    chat_key="team",
                    chat_id=summary.group_chat_id,
                    lines=group_lines,
                    ids=ids,
                    read_up_to=_GROUP_READ_UP_TO,
                    summary=summary,
                )
        finally:
            await lock_session.execute(
                text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY}
            )
            await lock_session.commit()
    return summary


async def _seed_url(database_url: str, settings: Settings) -> SeedSummary:
    engine = make_engine(database_url, pool_size=2)
    try:
        return await seed(engine, settings)
    finally:
        await engine.dispose()


def run_seed(database_url: str) -> None:
    """`python -m chat_server seed`: seed the database at `database_url`, print a summary."""
    summary = asyncio.run(_seed_url(database_url, get_settings()))
    print(
        f"seed: {summary.users_created} users, {summary.chats_created} chats and "
        f"{summary.messages_created} messages created "
        f"({summary.messages_total - summary.messages_created} already there)"
    )
    logins = ", ".join(f"{name.lower()}@example.com" for name in SEED_USERS)
    print(f"seed: demo logins {logins}, password {SEED_PASSWORD!r}")

"""Demo data: four users, three private chats, a "Team" group, a few days of messages.

Users, chats and the group are created through the services, exactly as a client would
create them. Messages are stored by the send path's own statement, under the chat row
lock, and dated in the same transaction (seed_store.py) to the times of seed_timeline:
a few days of conversation that end before the anchor, the creation time of the
Alice-Bob chat. So the demo has days to separate and gaps to show, and seq order still
agrees with time order.

Every step is idempotent: users are looked up before they are registered, private chats
are get-or-create, the group is found by its first message or by name and creator, and
each message has a fixed `client_msg_id`, so a second run stores and re-dates nothing.
Read watermarks only move forward, so re-marking them changes nothing either.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

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
from chat_server.messages.service import mark_read
from chat_server.presence.store import LocalPresence
from chat_server.seed_script import ALICE_BOB, ALICE_DAVE, CAROL_DAVE, TEAM
from chat_server.seed_store import DatedSend, store_dated
from chat_server.seed_timeline import TimedLine, script_end, timed_lines
from chat_server.users.service import find_user_by_email, register_user

SEED_PASSWORD = "password123"
SEED_USERS = ("Alice", "Bob", "Carol", "Dave")
GROUP_NAME = "Team"


@dataclass(frozen=True)
class SeedChat:
    key: str  # names its client_msg_ids: uuid5(namespace, "<key>/<index>")
    script: str
    members: tuple[str, ...]  # two for a private chat
    unread: dict[str, int]  # messages from others left unread at the end, per person


TEAM_CHAT = SeedChat("team", TEAM, ("alice", "bob", "carol", "dave"), {"bob": 2, "dave": 1})
PRIVATE_CHATS = (
    SeedChat("alice-bob", ALICE_BOB, ("alice", "bob"), {"alice": 2}),
    SeedChat("carol-dave", CAROL_DAVE, ("carol", "dave"), {"carol": 2}),
    SeedChat("alice-dave", ALICE_DAVE, ("alice", "dave"), {"dave": 2}),
)
SEED_CHATS = (TEAM_CHAT, *PRIVATE_CHATS)

# client_msg_id = uuid5(namespace, "<chat>/<index>"): the same ids on every run and machine.
# (Not the namespace of the first seed, whose texts differed: its data stays as it was.)
_ID_NAMESPACE = uuid.UUID("6f1d8f3e-2b4c-4c55-9a55-5eed0da7a001")
# Serialises concurrent seed runs (e.g. two `docker compose exec app ... seed` at once).
_ADVISORY_LOCK_KEY = 0x5EED_C4A7


def script_lines(chat: SeedChat) -> list[TimedLine]:
    return timed_lines(chat.script, salt=chat.key)


# What a fresh database gets (tests and start.sh's summary line check these).
GROUP_MESSAGES = len(script_lines(TEAM_CHAT))
PRIVATE_MESSAGES = len(script_lines(PRIVATE_CHATS[0]))  # Alice-Bob
TOTAL_MESSAGES = sum(len(script_lines(chat)) for chat in SEED_CHATS)


def read_up_to(lines: Sequence[TimedLine], reader: str, unread: int) -> int:
    """How many of the chat's first messages `reader` has read, leaving `unread` messages
    from others after it (and never one of their own)."""
    position = len(lines)
    left = unread
    while left > 0:
        position -= 1
        if lines[position].speaker == reader:
            raise ValueError(f"{reader} would not have read their own message {position}")
        left -= 1
    return position


@dataclass
class SeedSummary:
    """What one seed run created (zeros on a second run) and what exists afterwards."""

    users_created: int = 0
    chats_created: int = 0
    messages_created: int = 0
    messages_total: int = 0
    user_ids: dict[str, int] = field(default_factory=dict)
    chat_ids: dict[str, int] = field(default_factory=dict)  # by SeedChat.key
    anchor: datetime | None = None

    @property
    def private_chat_id(self) -> int:
        return self.chat_ids["alice-bob"]

    @property
    def group_chat_id(self) -> int:
        return self.chat_ids["team"]


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
    engine: AsyncEngine,
    *,
    chat: SeedChat,
    chat_id: int,
    ids: dict[str, int],
    anchor: datetime,
    summary: SeedSummary,
) -> None:
    lines = script_lines(chat)
    end = script_end(anchor)
    sends = [
        DatedSend(
            sender_id=ids[line.speaker],
            text=line.text,
            client_msg_id=message_id(chat.key, index),
            sent_at=end - line.before_anchor,
        )
        for index, line in enumerate(lines)
    ]
    seqs, created = await store_dated(engine, chat_id=chat_id, sends=sends)
    summary.messages_created += created
    summary.messages_total += len(lines)
    lanes = ChatLanes(engine, NullPublisher())
    for reader in chat.members:
        count = read_up_to(lines, reader, chat.unread.get(reader, 0))
        if count > 0:
            await mark_read(
                lanes=lanes,
                user_id=ids[reader],
                chat_id=chat_id,
                seq=seqs[count - 1],
            )


async def _ensure_chats(session: AsyncSession, ids: dict[str, int], summary: SeedSummary) -> None:
    for chat in PRIVATE_CHATS:
        first, second = chat.members
        private, created = await get_or_create_private_chat(
            session=session,
            publisher=NullPublisher(),
            presence=LocalPresence(),
            user_id=ids[first],
            other_user_id=ids[second],
        )
        summary.chats_created += created
        summary.chat_ids[chat.key] = private.id
        if chat.key == "alice-bob":
            # The anchor: fixed once the chat exists, so every run dates alike.
            summary.anchor = private.created_at
    team_first = script_lines(TEAM_CHAT)[0]
    summary.chat_ids[TEAM_CHAT.key] = await _ensure_group(
        session, ids, (team_first.speaker, team_first.text), summary
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
                summary.user_ids = ids = await _ensure_users(session, settings, summary)
                await _ensure_chats(session, ids, summary)
            assert summary.anchor is not None
            for chat in SEED_CHATS:
                await _fill_chat(
                    engine,
                    chat=chat,
                    chat_id=summary.chat_ids[chat.key],
                    ids=ids,
                    anchor=summary.anchor,
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

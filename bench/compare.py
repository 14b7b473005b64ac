"""Ours against the lean reference, side by side in one run, on one database server.

    .venv/bin/python bench/compare.py [--database-url URL] [--only throughput,latency,…]

Starts PostgreSQL (embedded, unless --database-url / DATABASE_URL names a server; a fresh
database either way), `python -m chat_server serve` and bench/lean_reference.py on free
loopback ports, makes the same users and groups of 10 on both over REST, then measures
with the lean load generator (bench/eio.py, 2 processes) and prints one table: ours, the
reference, the ratio, the floor and PASS / FAIL.

- throughput: 100 clients in 10 groups, closed loop, rounds alternating ours / reference;
- latency: 1,000 clients in 100 groups, open loop at half the reference's throughput;
- history: a 1,000,000-message chat: the service's time per page (offset 0, middle, end,
  before_seq near the end) and REST pages/s against a bare FastAPI + asyncpg endpoint;
- idle: 10,000 idle sockets with and without per-message deflate offered; RSS and a
  send -> ack probe while they are connected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench import http_load, lean_load  # noqa: E402
from bench.clients import Member  # noqa: E402
from bench.eio import Socket  # noqa: E402
from bench.load import (  # noqa: E402
    SPAWN,
    Database,
    _get,
    _stop,
    _tail,
    chat_server,
    database,
    free_port,
    raise_fd_limit,
    server_pythonpath,
    serving,
    setup_users,
)
from bench.monitor import TreeMonitor, rss_mb  # noqa: E402
from bench.report import percentile  # noqa: E402

RESULTS_FILE = ROOT / "bench" / "results" / "compare.md"
PROFILES = ROOT / "bench" / "results"
PHASES = ("throughput", "latency", "history", "idle")
FLOOR_THROUGHPUT_RATIO = 0.85
FLOOR_ACK_P99_MS = 50.0
FLOOR_DELIVERY_P99_MS = 100.0
FLOOR_HISTORY_P99_MS = 5.0
FLOOR_PAGES_RATIO = 0.8
FLOOR_IDLE_RSS_MB = 600.0
FLOOR_IDLE_ACK_MS = 100.0


@contextlib.contextmanager
def bench_server(
    script: str, db: Database, workdir: Path, pool_size: int
) -> Iterator[tuple[str, int]]:
    """One of the bench/ servers (lean reference, bare history) on a free loopback port."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        *(sys.executable, str(ROOT / "bench" / script), "--port", str(port)),
        *("--dsn", db.dsn, "--pool-size", str(pool_size)),
    ]
    env = {**os.environ, "PYTHONPATH": server_pythonpath()}
    with serving(command, env, workdir, base_url, script) as pid:
        yield base_url, pid


def start_profiler(py_spy: str, pid: int, seconds: float, name: str) -> subprocess.Popen[bytes]:
    """py-spy on a server for `seconds`: collapsed stacks in bench/results/profile-NAME.txt."""
    PROFILES.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))),
            *("--rate", "100", "--format", "raw", "--nonblocking"),
            *("--output", str(PROFILES / f"profile-{name}.txt")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(PROFILES / f"profile-{name}.log").open("wb"),
    )


def mark(text: str) -> None:
    """With --trace: note when a phase starts or ends, beside the servers' traces."""
    if trace_dir := os.environ.get("BENCH_TRACE_DIR"):
        with open(os.path.join(trace_dir, "marks.txt"), "a", encoding="utf-8") as marks:
            marks.write(f"{time.time():.3f} {text}\n")


@dataclass
class Server:
    name: str  # "ours" or "reference"
    base_url: str
    pid: int
    table: str  # where it stores messages
    groups: list[list[Member]] = field(default_factory=list)


@dataclass
class LoadOutcome:
    rate: float  # acked messages/s inside the window
    ack_ms: list[float]
    delivery_ms: list[float]
    acked: int
    fully_delivered: int
    over_delivered: int
    persisted_new: int
    cpu_ms_per_message: float
    errors: dict[str, int]
    connected: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.acked > 0
            and self.fully_delivered == self.acked
            and self.over_delivered == 0
            and self.persisted_new >= self.acked
        )


async def count_rows(db: Database, table: str) -> int:
    conn = await asyncpg.connect(db.dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


async def run_load(
    server: Server,
    db: Database,
    groups: list[list[Member]],
    plan: lean_load.Plan,
    workers: int,
    py_spy: str | None = None,
    profile_name: str = "throughput",
) -> LoadOutcome:
    members = [m for group in groups for m in group]
    shares = [members[w::workers] for w in range(workers)]
    q = SPAWN.Queue()
    go = SPAWN.Event()
    procs = [
        SPAWN.Process(
            target=lean_load.load_worker, args=(w, server.base_url, shares[w], plan, q, go)
        )
        for w in range(workers)
    ]
    rows_before = await count_rows(db, server.table)
    for p in procs:
        p.start()
    try:
        connected = 0
        for _ in procs:
            msg = await _get(q, seconds=180)
            if msg[0] != "ready":
                raise RuntimeError(f"load worker failed before starting: {msg}")
            connected += msg[2]
        monitor = TreeMonitor(server.pid)
        go.set()
        await asyncio.sleep(plan.warmup)
        monitor.start()
        profiler = (
            start_profiler(py_spy, server.pid, plan.seconds, profile_name) if py_spy else None
        )
        mark(f"{profile_name} window start {server.name} pid {server.pid}")
        await asyncio.sleep(plan.seconds)
        mark(f"{profile_name} window end {server.name}")
        monitor.stop()
        results: list[lean_load.LeanResult] = []
        for _ in procs:
            msg = await _get(q, seconds=plan.seconds + 60)
            if msg[0] != "result":
                raise RuntimeError(f"load worker failed: {msg}")
            results.append(msg[2])
        if profiler:
            profiler.wait(timeout=30)
    finally:
        _stop(procs)
    per_message: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    acked: list[int] = []
    ack_ms: list[float] = []
    delivery_ms: list[float] = []
    counted = 0
    for r in results:
        per_message.update(r.per_message)
        errors.update(r.errors)
        errors["connect_error"] += r.connect_errors
        acked += r.acked_ids
        ack_ms += r.ack_ms
        delivery_ms += r.delivery_ms
        counted += r.counted
    group_size = len(groups[0])
    rate = counted / plan.seconds
    cpu_seconds = monitor.cpu_percent / 100 * monitor.seconds
    return LoadOutcome(
        rate=rate,
        ack_ms=ack_ms,
        delivery_ms=delivery_ms,
        acked=len(acked),
        fully_delivered=sum(1 for m in acked if per_message[m] == group_size),
        over_delivered=sum(1 for c in per_message.values() if c > group_size),
        persisted_new=await count_rows(db, server.table) - rows_before,
        cpu_ms_per_message=1000 * cpu_seconds / counted if counted else float("nan"),
        errors={k: v for k, v in errors.items() if v},
        connected=connected,
    )


# --- the table ------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    ours: str
    reference: str
    ratio: str
    floor: str
    verdict: str  # PASS, FAIL or "" (information only)


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- phases ---------------------------------------------------------------------------


async def throughput_phase(
    args: argparse.Namespace, db: Database, ours: Server, ref: Server, rows: list[Row]
) -> float:
    """Closed loop, rounds alternating; returns the reference's median msg/s."""
    rates: dict[str, list[float]] = {"ours": [], "reference": []}
    cpu: dict[str, list[float]] = {"ours": [], "reference": []}
    exact: dict[str, bool] = {"ours": True, "reference": True}
    ack99: dict[str, list[float]] = {"ours": [], "reference": []}
    errors: dict[str, Counter[str]] = {"ours": Counter(), "reference": Counter()}
    plan = lean_load.Plan("closed", args.seconds, args.warmup, deflate=args.deflate)
    for n in range(args.rounds):
        for server in (ours, ref):
            print(f"throughput round {n + 1}/{args.rounds}: {server.name} ...", flush=True)
            # Both profiled in the first round, so the two profiles can be set side by side.
            profile = args.py_spy if n == 0 else None
            name = "throughput" if server is ours else "throughput-reference"
            out = await run_load(
                server, db, server.groups[: args.groups], plan, args.workers, profile, name
            )
            print(
                f"  {out.rate:,.0f} msg/s, ack p99 {percentile(out.ack_ms, 99):.1f} ms, "
                f"{out.cpu_ms_per_message:.2f} ms CPU/msg, exactly once: {out.exactly_once}, "
                f"errors: {out.errors or 'none'}",
                flush=True,
            )
            rates[server.name].append(out.rate)
            cpu[server.name].append(out.cpu_ms_per_message)
            ack99[server.name].append(percentile(out.ack_ms, 99))
            exact[server.name] &= out.exactly_once
            errors[server.name].update(out.errors)
    o, r = statistics.median(rates["ours"]), statistics.median(rates["reference"])
    clients = args.groups * 10
    rows.append(
        Row(
            f"throughput, {clients} clients in {args.groups} groups of 10, closed loop, "
            f"msg/s (median of {args.rounds} rounds: ours "
            + " / ".join(fmt(x, 0) for x in rates["ours"])
            + ", reference "
            + " / ".join(fmt(x, 0) for x in rates["reference"])
            + ")",
            fmt(o, 0),
            fmt(r, 0),
            ratio(o, r),
            f"≥ {FLOOR_THROUGHPUT_RATIO} x",
            verdict(o >= FLOOR_THROUGHPUT_RATIO * r),
        )
    )
    rows.append(
        Row(
            "every acked message persisted and delivered to all 10 members exactly once",
            str(exact["ours"]),
            str(exact["reference"]),
            "",
            "all rounds",
            verdict(exact["ours"]),
        )
    )
    co, cr = statistics.median(cpu["ours"]), statistics.median(cpu["reference"])
    rows.append(
        Row(
            "server CPU per message (its 10 deliveries included), ms",
            fmt(co, 2),
            fmt(cr, 2),
            ratio(co, cr),
            "",
            "",
        )
    )
    rows.append(
        Row(
            "send → ack p99 in the closed loop, ms (median of rounds)",
            fmt(statistics.median(ack99["ours"])),
            fmt(statistics.median(ack99["reference"])),
            ratio(statistics.median(ack99["ours"]), statistics.median(ack99["reference"])),
            "",
            "",
        )
    )
    if errors["ours"] or errors["reference"]:
        rows.append(
            Row(
                "send errors", str(dict(errors["ours"])), str(dict(errors["reference"])), "", "", ""
            )
        )
    return r


async def latency_phase(
    args: argparse.Namespace,
    db: Database,
    ours: Server,
    ref: Server,
    offered: float,
    rows: list[Row],
) -> None:
    groups = args.latency_clients // 10
    results: dict[str, LoadOutcome] = {}
    for server in (ours, ref):
        plan = lean_load.Plan(
            "open",
            args.latency_seconds,
            args.warmup,
            rate=offered,
            total_clients=groups * 10,
            deflate=args.deflate,
        )
        print(f"latency: {server.name}, {groups * 10} clients at {offered:,.0f} msg/s ...")
        profile = args.py_spy if server is ours else None
        out = await run_load(
            server, db, server.groups[:groups], plan, args.workers, profile, "latency"
        )
        print(
            f"  {out.rate:,.0f} msg/s, ack p99 {percentile(out.ack_ms, 99):.1f} ms, "
            f"delivery p99 {percentile(out.delivery_ms, 99):.1f} ms, connected "
            f"{out.connected}, exactly once: {out.exactly_once}, errors: {out.errors or 'none'}",
            flush=True,
        )
        results[server.name] = out
    o, r = results["ours"], results["reference"]
    label = f"{groups * 10} clients in {groups} groups, open loop at {offered:,.0f} msg/s"
    for what, floor, key in (
        ("send → ack", FLOOR_ACK_P99_MS, "ack_ms"),
        ("send → delivery", FLOOR_DELIVERY_P99_MS, "delivery_ms"),
    ):
        op, rp = percentile(getattr(o, key), 99), percentile(getattr(r, key), 99)
        o50, r50 = percentile(getattr(o, key), 50), percentile(getattr(r, key), 50)
        rows.append(
            Row(
                f"{what} p99 (p50), ms, {label}",
                f"{fmt(op)} ({fmt(o50)})",
                f"{fmt(rp)} ({fmt(r50)})",
                ratio(op, rp),
                f"< {floor:.0f} ms and ≤ reference",
                verdict(op < floor and op <= rp),
            )
        )
    rows.append(
        Row(
            f"latency run: msg/s acked, exactly once ({label})",
            f"{fmt(o.rate, 0)}, {o.exactly_once}",
            f"{fmt(r.rate, 0)}, {r.exactly_once}",
            "",
            "all delivered",
            verdict(o.exactly_once),
        )
    )


async def big_chat(db: Database, ours: Server, size: int) -> tuple[int, str]:
    """A private chat of `size` messages between two of ours' users, written straight into
    the table (gapless seq 1..size, chats.last_seq to match); returns it and a token."""
    a, b = ours.groups[0][0], ours.groups[0][1]
    async with httpx.AsyncClient(base_url=ours.base_url, timeout=30) as http:
        response = await http.post(
            "/chats/private",
            json={"user_id": b.user_id},
            headers={"Authorization": f"Bearer {a.token}"},
        )
        response.raise_for_status()
        chat_id: int = response.json()["id"]
    conn = await asyncpg.connect(db.dsn)
    try:
        await conn.execute(
            """INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts, created_at)
               SELECT $1, CASE WHEN n % 2 = 0 THEN $2::bigint ELSE $3::bigint END,
                      'history message number ' || n, gen_random_uuid(), n, n,
                      now() - make_interval(secs => $4::int - n)
               FROM generate_series(1, $4::int) AS n""",
            chat_id,
            a.user_id,
            b.user_id,
            size,
        )
        await conn.execute(
            "UPDATE chats SET last_seq = $2, last_pts = $2 WHERE id = $1", chat_id, size
        )
        await conn.execute("VACUUM ANALYZE messages")
    finally:
        await conn.close()
    return chat_id, a.token


async def service_page_ms(
    db: Database, user_id: int, chat_id: int, repeats: int, **page: int
) -> list[float]:
    """Server-side time of one history page: the service call (membership check and the
    page, one statement) on the server's own engine settings, no HTTP."""
    from chat_server.db import make_engine
    from chat_server.messages.history import list_history

    engine = make_engine(db.url, pool_size=2)
    times: list[float] = []
    try:
        for i in range(repeats + 20):  # the first 20 warm the pool and the caches
            started = time.perf_counter()
            result = await list_history(
                engine=engine, user_id=user_id, chat_id=chat_id, limit=50, **page
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert len(result.messages) == 50, (page, len(result.messages))
            if i >= 20:
                times.append(elapsed)
    finally:
        await engine.dispose()
    return times


async def bare_page_ms(db: Database, chat_id: int, repeats: int, offset: int) -> list[float]:
    from bench.bare_history import PAGE, as_json

    conn = await asyncpg.connect(db.dsn)
    times: list[float] = []
    try:
        for i in range(repeats + 20):
            started = time.perf_counter()
            page = [as_json(r) for r in await conn.fetch(PAGE, chat_id, offset, 50)]
            elapsed = (time.perf_counter() - started) * 1000
            assert len(page) == 50
            if i >= 20:
                times.append(elapsed)
    finally:
        await conn.close()
    return times


async def pages_per_second(
    base_url: str,
    path: str,
    token: str | None,
    offsets: int,
    args: argparse.Namespace,
    profile_pid: int | None = None,
) -> tuple[float, int]:
    q = SPAWN.Queue()
    go = SPAWN.Event()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    procs = [
        SPAWN.Process(
            target=http_load.pages_worker,
            args=(base_url, path, headers, offsets, 50, 8, args.history_seconds, q, go),
        )
        for _ in range(args.workers)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            msg = await _get(q, seconds=60)
            if msg[0] != "ready":
                raise RuntimeError(f"http worker failed: {msg}")
        go.set()
        profiler = (
            start_profiler(args.py_spy, profile_pid, args.history_seconds, "history")
            if args.py_spy and profile_pid
            else None
        )
        ok = failed = 0
        elapsed = 0.0
        for _ in procs:
            msg = await _get(q, seconds=args.history_seconds + 60)
            if msg[0] != "result":
                raise RuntimeError(f"http worker failed: {msg}")
            ok, failed, elapsed = ok + msg[1], failed + msg[2], max(elapsed, msg[3])
        if profiler:
            profiler.wait(timeout=30)
    finally:
        _stop(procs)
    return ok / elapsed, failed


async def same_json(ours_url: str, bare_url: str, path: str, token: str, offset: int) -> None:
    """The bare endpoint is a fair reference only while it answers what ours answers."""
    params = {"limit": 50, "offset": offset}
    async with httpx.AsyncClient(timeout=30) as http:
        ours = await http.get(
            ours_url + path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        bare = await http.get(bare_url + path, params=params)
    if ours.status_code != 200 or ours.json() != bare.json():
        raise RuntimeError(f"ours and the bare endpoint answer differently: {ours.text[:300]}")


async def history_phase(
    args: argparse.Namespace, db: Database, workdir: Path, ours: Server, rows: list[Row]
) -> None:
    size = args.history_size
    print(f"history: writing a chat of {size:,} messages ...", flush=True)
    chat_id, token = await big_chat(db, ours, size)
    user_id = ours.groups[0][0].user_id
    cases = (
        ("offset 0", {"offset": 0}, 0),
        (f"offset {size // 2:,}", {"offset": size // 2}, size // 2),
        (f"offset {size - 50:,}", {"offset": size - 50}, size - 50),
        (f"before_seq {size - 10:,}", {"before_seq": size - 10}, size - 61),
    )
    for label, page, bare_offset in cases:
        ours_ms = await service_page_ms(db, user_id, chat_id, args.history_repeats, **page)
        bare_ms = await bare_page_ms(db, chat_id, args.history_repeats, bare_offset)
        op, bp = percentile(ours_ms, 99), percentile(bare_ms, 99)
        rows.append(
            Row(
                f"history page of 50, {label}, chat of {size:,}: server-side p99 (p50), ms "
                "(reference: the bare query and JSON dicts)",
                f"{fmt(op, 2)} ({fmt(percentile(ours_ms, 50), 2)})",
                f"{fmt(bp, 2)} ({fmt(percentile(bare_ms, 50), 2)})",
                ratio(op, bp),
                f"< {FLOOR_HISTORY_P99_MS:.0f} ms",
                verdict(op < FLOOR_HISTORY_P99_MS),
            )
        )
    with bench_server("bare_history.py", db, workdir, args.pool_size) as (bare_url, _):
        path = f"/history/{chat_id}"
        await same_json(ours.base_url, bare_url, path, token, size // 3)
        rates: dict[str, list[float]] = {"ours": [], "bare": []}
        failures = {"ours": 0, "bare": 0}
        for n in range(args.rounds):  # alternating, as the machine's other load comes and goes
            print(f"history: REST pages/s round {n + 1}/{args.rounds}, ours then bare ...")
            for name, url, auth, pid in (
                ("ours", ours.base_url, token, ours.pid if n == 0 else None),
                ("bare", bare_url, None, None),
            ):
                rate, failed = await pages_per_second(url, path, auth, size - 50, args, pid)
                rates[name].append(rate)
                failures[name] += failed
    ours_rate, bare_rate = statistics.median(rates["ours"]), statistics.median(rates["bare"])
    ours_failed, bare_failed = failures["ours"], failures["bare"]
    rows.append(
        Row(
            "REST GET /history, 50 rows at random offsets, pages/s, median of "
            f"{args.rounds} rounds (ours "
            + " / ".join(fmt(x, 0) for x in rates["ours"])
            + ", bare "
            + " / ".join(fmt(x, 0) for x in rates["bare"])
            + ") (reference: bare FastAPI + asyncpg, same JSON)",
            fmt(ours_rate, 0) + (f" ({ours_failed} failed)" if ours_failed else ""),
            fmt(bare_rate, 0) + (f" ({bare_failed} failed)" if bare_failed else ""),
            ratio(ours_rate, bare_rate),
            f"≥ {FLOOR_PAGES_RATIO} x",
            verdict(ours_rate >= FLOOR_PAGES_RATIO * bare_rate and not ours_failed),
        )
    )


async def probe_acks(server: Server, count: int) -> list[float]:
    """send -> ack of one more socket, one send at a time, while the idle ones are up."""
    member = server.groups[0][0]
    sock = await Socket.open(server.base_url, member.token)
    times: list[float] = []
    mark(f"probe start {server.name} pid {server.pid}")
    try:
        for _ in range(count):
            started = time.perf_counter()
            payload = {
                "chat_id": member.chat_id,
                "text": f"probe {time.time()!r}",
                "client_msg_id": str(uuid.uuid4()),
            }
            ack = await sock.call("send_message", payload)
            assert ack.get("ok"), ack
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)
    finally:
        mark(f"probe end {server.name}, ms in order: {' '.join(f'{t:.1f}' for t in times)}")
        await sock.close()
    return times


async def idle_sockets(
    server: Server,
    tokens: list[str],
    sockets: int,
    deflate: bool,
    workers: int,
    probes_wanted: int,
    py_spy: str | None = None,
) -> tuple[int, float, float, list[float], int]:
    """Connected, RSS before, RSS with them, probe send->ack times, still held after."""
    plan = [tokens[i % len(tokens)] for i in range(sockets)]
    q = SPAWN.Queue()
    release = SPAWN.Event()
    before = rss_mb(server.pid)
    procs = [
        SPAWN.Process(
            target=lean_load.idle_worker,
            args=(w, server.base_url, plan[w::workers], deflate, q, release, 600.0),
        )
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    connected = held = 0
    try:
        errors: Counter[str] = Counter()
        for _ in procs:
            msg = await _get(q, seconds=max(300, sockets / 10))
            if msg[0] != "connected":
                raise RuntimeError(f"idle worker failed: {msg}")
            connected += msg[2]
            errors.update(msg[3])
        if errors:
            print(f"  idle connect errors: {dict(errors)}", flush=True)
        await settle(server.pid)
        with_them = max([rss_mb(server.pid) for _ in range(5)])
        profiler = (
            start_profiler(py_spy, server.pid, 5, f"idle-deflate-{deflate}".lower())
            if py_spy
            else None
        )
        probes = await probe_acks(server, probes_wanted)
        if profiler:
            profiler.wait(timeout=30)
        with_them = max(with_them, rss_mb(server.pid))
        release.set()
        pending = set(range(workers))
        deadline = time.monotonic() + 300
        while pending and time.monotonic() < deadline:
            msg = await _get(q, seconds=max(1.0, deadline - time.monotonic()))
            if msg[0] == "held":
                held += msg[2]
            else:
                pending.discard(msg[1])
    finally:
        release.set()
        _stop(procs)
    return connected, before, with_them, probes, held


@contextlib.contextmanager
def fresh_server(name: str, db: Database, workdir: Path, pool_size: int) -> Iterator[Server]:
    if name == "ours":
        with chat_server(db, workdir, pool_size) as (url, pid):
            yield Server(name, url, pid, "messages")
    else:
        with bench_server("lean_reference.py", db, workdir, pool_size) as (url, pid):
            yield Server(name, url, pid, "ref_messages")


async def settle(pid: int, limit: float = 60.0) -> None:
    """Wait until the server is (nearly) idle: the connect handlers' work is done."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        monitor = TreeMonitor(pid)
        monitor.start()
        await asyncio.sleep(0.5)
        monitor.stop()
        if monitor.cpu_percent < 15:
            return


async def idle_phase(
    args: argparse.Namespace, db: Database, workdir: Path, rows: list[Row]
) -> None:
    """Each server fresh for each run (RSS is not given back between runs). The idle
    sockets belong to the users of every group but the first; the probe sends into the
    first group's chat, so its answer does not wait for a broadcast to idle sockets."""
    for deflate in (False, True):
        outcome = {}
        for name in ("ours", "reference"):
            with fresh_server(name, db, workdir, args.pool_size) as server:
                server.groups = await setup_users(server.base_url, 10 * args.idle_groups, 10)
                tokens = [m.token for g in server.groups[1:] for m in g]
                print(
                    f"idle: {args.idle_sockets:,} sockets of {len(tokens)} users on {name}, "
                    f"deflate offered: {deflate} ...",
                    flush=True,
                )
                outcome[name] = out = await idle_sockets(
                    server,
                    tokens,
                    args.idle_sockets,
                    deflate,
                    args.workers,
                    args.probes,
                    args.py_spy if name == "ours" else None,
                )
                print(
                    f"  connected {out[0]}, RSS {out[1]:.0f} -> {out[2]:.0f} MB, probe p99 "
                    f"{percentile(out[3], 99):.1f} ms, held {out[4]}",
                    flush=True,
                )
        o, r = outcome["ours"], outcome["reference"]
        offered = "offered" if deflate else "not offered"
        rows.append(
            Row(
                f"{args.idle_sockets:,} idle sockets, deflate {offered}: server RSS with them, "
                f"MB (before; connected)",
                f"{fmt(o[2], 0)} ({fmt(o[1], 0)}; {o[0]:,})",
                f"{fmt(r[2], 0)} ({fmt(r[1], 0)}; {r[0]:,})",
                ratio(o[2], r[2]),
                f"< {FLOOR_IDLE_RSS_MB:.0f} MB",
                verdict(o[2] < FLOOR_IDLE_RSS_MB and o[0] == args.idle_sockets),
            )
        )
        op, rp = percentile(o[3], 99), percentile(r[3], 99)
        rows.append(
            Row(
                f"… send → ack p99 (max) meanwhile, ms, deflate {offered}",
                f"{fmt(op)} ({fmt(max(o[3]))})",
                f"{fmt(rp)} ({fmt(max(r[3]))})",
                ratio(op, rp),
                f"< {FLOOR_IDLE_ACK_MS:.0f} ms",
                verdict(max(o[3]) < FLOOR_IDLE_ACK_MS),
            )
        )


# --- the run --------------------------------------------------------------------------


def render(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| measure | ours | reference | ratio | floor | |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.measure} | {r.ours} | {r.reference} | {r.ratio} | {r.floor} | {r.verdict} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


async def run(
    args: argparse.Namespace,
    db: Database,
    workdir: Path,
    ours: Server,
    ref: Server,
) -> list[Row]:
    users = 10 * max(args.groups, args.latency_clients // 10 if "latency" in args.only else 0)
    for server in (ours, ref):
        print(f"setting up {users} users in groups of 10 on {server.name} ...", flush=True)
        server.groups = await setup_users(server.base_url, users, 10)
    rows: list[Row] = []
    reference_rate = args.offered * 2 if args.offered else 0.0
    if "throughput" in args.only:
        reference_rate = await throughput_phase(args, db, ours, ref, rows)
    if "latency" in args.only:
        if not reference_rate:
            raise SystemExit("latency needs the throughput phase or --offered")
        await latency_phase(args, db, ours, ref, reference_rate / 2, rows)
    if "history" in args.only:
        await history_phase(args, db, workdir, ours, rows)
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument(
        "--only", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}"
    )
    p.add_argument("--seconds", type=float, default=20, help="throughput window (default 20)")
    p.add_argument("--warmup", type=float, default=3, help="warm-up before each window")
    p.add_argument("--rounds", type=int, default=2, help="ours/reference pairs (default 2)")
    p.add_argument("--groups", type=int, default=10, help="throughput groups of 10 (default 10)")
    p.add_argument("--latency-clients", type=int, default=1000, help="(default 1000)")
    p.add_argument("--latency-seconds", type=float, default=20, help="(default 20)")
    p.add_argument(
        "--offered", type=float, default=0.0, help="latency load, msg/s, when not measured"
    )
    p.add_argument("--history-size", type=int, default=1_000_000, help="(default 1,000,000)")
    p.add_argument("--history-repeats", type=int, default=500, help="pages timed per case")
    p.add_argument("--history-seconds", type=float, default=10, help="REST pages/s window")
    p.add_argument("--idle-sockets", type=int, default=10_000, help="(default 10,000)")
    p.add_argument(
        "--idle-groups", type=int, default=10, help="idle run's users: groups of 10 (default 10)"
    )
    p.add_argument("--probes", type=int, default=50, help="sends timed per idle run")
    p.add_argument("--workers", type=int, default=2, help="load-generator processes")
    p.add_argument("--pool-size", type=int, default=20, help="both servers' DB pool")
    p.add_argument("--deflate", action="store_true", help="load clients offer permessage-deflate")
    p.add_argument(
        "--py-spy",
        metavar="PATH",
        help="profile ours in its first throughput round, its latency run, its first REST "
        "history round and while the idle sockets' probe runs "
        "(bench/results/profile-*.txt)",
    )
    p.add_argument(
        "--trace",
        metavar="DIR",
        type=Path,
        help="trace every server's event-loop stalls and garbage collections into "
        "DIR/trace-PID.txt, with the phases' times in DIR/marks.txt (bench/tracing/)",
    )
    p.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = p.parse_args(argv)
    args.only = [phase.strip() for phase in args.only.split(",") if phase.strip()]
    if unknown := set(args.only) - set(PHASES):
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.latency_clients % 10:
        p.error("--latency-clients must be a multiple of 10")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.trace:
        args.trace.mkdir(parents=True, exist_ok=True)
        os.environ["BENCH_TRACE_DIR"] = str(args.trace.resolve())
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="chat-compare-"))
    load_before = os.getloadavg()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        with database(args.database_url, workdir) as db:
            rows: list[Row] = []
            try:
                if set(args.only) - {"idle"}:
                    with (
                        chat_server(db, workdir, args.pool_size) as (ours_url, ours_pid),
                        bench_server("lean_reference.py", db, workdir, args.pool_size) as (
                            ref_url,
                            ref_pid,
                        ),
                    ):
                        ours = Server("ours", ours_url, ours_pid, "messages")
                        ref = Server("reference", ref_url, ref_pid, "ref_messages")
                        rows += asyncio.run(run(args, db, workdir, ours, ref))
                # Fresh servers, and the ones above stopped: their pools would hold on to
                # PostgreSQL connections the idle run's connects need.
                if "idle" in args.only:
                    asyncio.run(idle_phase(args, db, workdir, rows))
            except BaseException:
                print(_tail(workdir / "server.log"), file=sys.stderr)
                raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    header = (
        f"{started}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
        f"{'external server' if args.database_url else 'embedded'}; load average "
        f"{' / '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' / '.join(f'{x:.2f}' for x in load_after)} after"
    )
    table = render(rows, header)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    print()
    print(table)
    print(f"(written to {args.output})")


if __name__ == "__main__":
    main()

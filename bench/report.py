"""The results table (markdown) and the targets it is held to."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

FLOOR_RATE = 1000.0  # messages/s persisted, acked and delivered to every member
FLOOR_ACK_P99_MS = 100.0
FLOOR_IDLE_RSS_MB = 400.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Results:
    # environment
    cores: int = 0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    python: str = ""
    database: str = ""
    started_at: str = ""
    # load phase
    clients: int = 0
    connected: int = 0
    groups: int = 0
    group_size: int = 0
    workers: int = 0
    seconds: float = 0.0
    window: float = 0.0
    acked: int = 0
    persisted: int = 0
    deliveries: int = 0
    fully_delivered: int = 0  # acked messages that reached every member's socket
    over_delivered: int = 0  # messages some socket got more than once
    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    server_cpu: float = 0.0
    server_sys_cpu: float = 0.0  # the kernel's part of server_cpu
    cpu_window: float = 0.0  # seconds over which the CPU figures were taken
    server_peak_rss: float = 0.0
    postgres_cpu: float | None = None
    client_cpu: float = 0.0
    # idle sockets
    idle_target: int = 0
    idle_connected: int = 0
    idle_held: int = 0  # still connected after the RSS sample
    idle_connect_seconds: float = 0.0
    idle_errors: dict[str, int] = field(default_factory=dict)
    idle_rss_before: float = 0.0
    idle_rss_with: float = 0.0
    idle_server_fds: int = 0
    # raw baseline
    raw_connections: int = 0
    raw_rows: int = 0
    raw_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.acked / self.window if self.window else 0.0

    @property
    def delivered_rate(self) -> float:
        return self.deliveries / self.window if self.window else 0.0

    @property
    def raw_rate(self) -> float:
        return self.raw_rows / self.raw_seconds if self.raw_seconds else 0.0

    @property
    def all_delivered(self) -> bool:
        return self.acked > 0 and self.fully_delivered == self.acked and not self.over_delivered


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def _cpu_budget(r: Results, server_ms: float) -> list[str]:
    """CPU per message of each process on the machine, and the rate the machine's cores
    could carry at that cost: the load generator and PostgreSQL share the cores too."""
    if not r.rate or r.postgres_cpu is None:
        return ["(CPU budget: needs the embedded PostgreSQL, whose CPU can be measured)"]
    postgres_ms = r.postgres_cpu * 10 / r.rate
    client_ms = r.client_cpu * 10 / r.rate
    total_ms = server_ms + postgres_ms + client_ms
    ceiling = r.cores * 1000 / total_ms
    return [
        "| CPU per message, its deliveries included | server | PostgreSQL | load generator "
        "| all three |",
        "|---|---|---|---|---|",
        f"| ms | {server_ms:.2f} | {postgres_ms:.2f} | {client_ms:.2f} | **{total_ms:.2f}** |",
        f"| cores needed at {FLOOR_RATE:,.0f} msg/s | {server_ms:.2f} | {postgres_ms:.2f} "
        f"| {client_ms:.2f} | **{total_ms:.2f}** of {r.cores} |",
        "",
        f"At these costs the {r.cores} cores carry at most about **{ceiling:,.0f} msg/s** "
        f"with all three on them; the server's own share is {1000 / server_ms:,.0f} msg/s "
        "per core.",
    ]


def render(r: Results) -> str:
    ack_p50, ack_p99 = percentile(r.ack_ms, 50), percentile(r.ack_ms, 99)
    del_p50, del_p99 = percentile(r.delivery_ms, 50), percentile(r.delivery_ms, 99)
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
    idle_errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.idle_errors.items())) or "none"
    per_socket_kb = (
        (r.idle_rss_with - r.idle_rss_before) * 1024 / r.idle_connected if r.idle_connected else 0
    )
    # CPU time per acked message (its deliveries included): independent of how much CPU
    # other processes left the server, unlike msg/s on a shared machine.
    acked_in_cpu_window = r.rate * r.cpu_window
    cpu_ms = r.server_cpu * 10 * r.cpu_window / acked_in_cpu_window if acked_in_cpu_window else 0
    ratio = r.rate / r.raw_rate if r.raw_rate else math.nan
    pg_cpu = f"{r.postgres_cpu:.0f} %" if r.postgres_cpu is not None else "n/a (external server)"
    rate_ok = r.rate >= FLOOR_RATE and r.persisted >= r.acked and r.all_delivered
    idle_ok = r.idle_held >= r.idle_target and r.idle_rss_with < FLOOR_IDLE_RSS_MB

    lines = [
        f"### Benchmark ({r.started_at})",
        "",
        f"{r.cores} cores, load average (1/5/15 min) {_load(r.load_before)} before, "
        f"{_load(r.load_after)} after; Python {r.python}; PostgreSQL: {r.database}.",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| clients (connected / planned), worker processes | {r.connected} / {r.clients}, "
        f"{r.workers} |",
        f"| groups x members | {r.groups} x {r.group_size} |",
        f"| send window | {r.window:.1f} s (asked {r.seconds:.0f} s) |",
        f"| messages persisted and acked | {r.acked:,} acked, {r.persisted:,} rows "
        f"→ **{r.rate:,.0f} msg/s** |",
        f"| delivered to every member | {r.fully_delivered:,} of {r.acked:,} "
        f"(duplicated: {r.over_delivered}) |",
        f"| deliveries (`message` events) | {r.deliveries:,} → **{r.delivered_rate:,.0f} /s** |",
        f"| send → ack p50 / p99 | {ack_p50:.1f} / **{ack_p99:.1f} ms** |",
        f"| send → delivery p50 / p99 (to other members) | {del_p50:.1f} / {del_p99:.1f} ms |",
        f"| server CPU (mean, % of one core) | {r.server_cpu:.0f} % ({r.server_sys_cpu:.0f} % "
        f"in the kernel) = {cpu_ms:.2f} ms CPU per message |",
        f"| server peak RSS under load | {r.server_peak_rss:.0f} MB |",
        f"| PostgreSQL CPU (all backends) | {pg_cpu} |",
        f"| load generator CPU (all workers) | {r.client_cpu:.0f} % |",
        f"| send errors | {errors} |",
        f"| idle sockets connected | {r.idle_connected:,} / {r.idle_target:,} in "
        f"{r.idle_connect_seconds:.1f} s, {r.idle_held:,} still up after sampling "
        f"(errors: {idle_errors}; server fds {r.idle_server_fds}) |",
        f"| server RSS before → with idle sockets | {r.idle_rss_before:.0f} → "
        f"**{r.idle_rss_with:.0f} MB** ({per_socket_kb:.0f} KB per socket) |",
        f"| raw asyncpg, 1 row per commit, {r.raw_connections} connections | "
        f"{r.raw_rows:,} rows in {r.raw_seconds:.1f} s → **{r.raw_rate:,.0f} rows/s** |",
        f"| ours / raw | **{ratio:.3f}** |",
        "",
        *_cpu_budget(r, cpu_ms),
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| ≥ {FLOOR_RATE:,.0f} msg/s persisted, acked and delivered to all members | "
        f"{r.rate:,.0f} msg/s, persisted ≥ acked: {r.persisted >= r.acked}, "
        f"all delivered: {r.all_delivered} | {_mark(rate_ok)} |",
        f"| send → ack p99 < {FLOOR_ACK_P99_MS:.0f} ms | {ack_p99:.1f} ms | "
        f"{_mark(ack_p99 < FLOOR_ACK_P99_MS)} |",
        f"| {r.idle_target:,} idle sockets < {FLOOR_IDLE_RSS_MB:.0f} MB RSS | "
        f"{r.idle_rss_with:.0f} MB ({r.idle_connected:,} connected) | {_mark(idle_ok)} |",
        "",
    ]
    return "\n".join(lines)

"""The raw baseline: one-row-per-commit inserts with plain asyncpg, no server in between.

Runs in its own process so the parent's event loop (psutil sampling) does not slow it.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.queues import Queue
from typing import Any

import asyncpg

CREATE = """
CREATE TABLE bench_scratch (
    id bigserial PRIMARY KEY,
    chat_id bigint,
    body text,
    created_at timestamptz DEFAULT now()
)
"""
INSERT = "INSERT INTO bench_scratch (chat_id, body) VALUES ($1, $2)"
BODY = "bench " + "x" * 40  # about the size of a benchmark message's text


async def _run(dsn: str, connections: int, seconds: float) -> tuple[int, float]:
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    try:
        deadline = time.monotonic() + seconds
        counts = [0] * connections

        async def inserter(index: int) -> None:
            # Each execute outside a transaction block is its own transaction + commit.
            while time.monotonic() < deadline:
                await pool.execute(INSERT, index, BODY)
                counts[index] += 1

        started = time.monotonic()
        await asyncio.gather(*(inserter(i) for i in range(connections)))
        elapsed = time.monotonic() - started
    finally:
        await pool.close()
    return sum(counts), elapsed


def baseline_worker(dsn: str, connections: int, seconds: float, results: Queue[Any]) -> None:
    """Process entry point: insert for `seconds` from `connections` tasks, report the count."""
    try:
        rows, elapsed = asyncio.run(_run(dsn, connections, seconds))
        results.put(("result", rows, elapsed))
    except BaseException as exc:
        results.put(("failed", repr(exc)))

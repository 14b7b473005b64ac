"""HTTP load worker: `concurrency` keep-alive loops GETting history pages for `seconds`.

Runs as its own process (spawn, uvloop) so the client does not share a GIL with the parent.
"""

from __future__ import annotations

import asyncio
import random
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import aiohttp

from bench.clients import _run, _wait_event


async def _pages(
    base_url: str,
    path: str,
    headers: dict[str, str],
    offsets: int,
    limit: int,
    concurrency: int,
    seconds: float,
    ready: Queue[Any],
    go: Event,
) -> tuple[int, int, float]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=headers) as http:
        ok = failed = 0

        async def loop(end: float) -> None:
            nonlocal ok, failed
            while time.monotonic() < end:
                params = {"limit": limit, "offset": random.randrange(offsets)}
                async with http.get(path, params=params) as response:
                    body = await response.read()
                    if response.status == 200 and body.startswith(b"[{"):
                        ok += 1
                    else:
                        failed += 1

        ready.put(("ready",))
        await _wait_event(go, seconds=60)
        started = time.monotonic()
        await asyncio.gather(*(loop(started + seconds) for _ in range(concurrency)))
        return ok, failed, time.monotonic() - started


def pages_worker(
    base_url: str,
    path: str,
    headers: dict[str, str],
    offsets: int,
    limit: int,
    concurrency: int,
    seconds: float,
    results: Queue[Any],
    go: Event,
) -> None:
    """Process entry point: GET pages at random offsets below `offsets`; report counts."""
    try:
        ok, failed, elapsed = _run(
            _pages(base_url, path, headers, offsets, limit, concurrency, seconds, results, go)
        )
        results.put(("result", ok, failed, elapsed))
    except BaseException as exc:
        results.put(("failed", repr(exc)))

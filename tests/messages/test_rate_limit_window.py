"""The in-memory moving window behind the rate limits (one server process, no Redis)."""

import asyncio
import time

import pytest
from limits import parse_many

from chat_server.errors import RateLimited
from chat_server.rate_limit import MemoryWindows, RateLimiter


async def test_a_key_gets_its_limit_per_window_and_again_once_the_window_moves_on() -> None:
    limiter = RateLimiter({"message": "3/second"})
    for _ in range(3):
        await limiter.check("message", "1")
    with pytest.raises(RateLimited, match="at most 3 per 1 second"):
        await limiter.check("message", "1")
    await limiter.check("message", "2")  # another key has its own window
    await limiter.check("login", "1")  # and an unnamed limit none
    await asyncio.sleep(1.05)
    await limiter.check("message", "1")


async def test_every_limit_of_a_name_counts() -> None:
    limiter = RateLimiter({"message": "5/second;2/second"})
    await limiter.check("message", "1")
    await limiter.check("message", "1")
    with pytest.raises(RateLimited, match="at most 2 per 1 second"):
        await limiter.check("message", "1")


def test_the_sweep_forgets_keys_without_a_hit_in_their_window() -> None:
    windows = MemoryWindows()
    (item,) = parse_many("1/second")
    assert windows.hit(item, 0, "message", "old")
    assert not windows.hit(item, 0, "message", "old")
    windows._sweep(time.monotonic() + 2)
    assert not windows._hits

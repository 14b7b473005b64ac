"""Per-user rate limits (the `limits` library); shared through Redis when REDIS_URL is set.

Redis being down must not stop sending: while it is unreachable (or too slow), the
limits are counted by each process on its own, and Redis is tried again every
REDIS_RETRY_SECONDS. Each switch is logged once.
"""

import logging
import time
from collections import deque

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chat_server.errors import RateLimited
from chat_server.faults import describe, is_unavailable

# While Redis is down, how long each process counts on its own before trying it again.
REDIS_RETRY_SECONDS = 5.0
logger = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0


class MemoryWindows:
    """Moving windows in this process's memory: the times of each key's hits inside its
    window. limits' own MemoryStorage starts a sweep of every key after every hit, each key
    through a thread hop: about a fifth of the server's CPU under load (bench/compare.py)."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str, int], tuple[float, deque[float]]] = {}
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def hit(self, item: RateLimitItem, index: int, name: str, key: str) -> bool:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        window = float(item.get_expiry())
        _, hits = self._hits.setdefault((name, key, index), (window, deque()))
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        return True

    def _sweep(self, now: float) -> None:
        """Forget keys with no hit inside their window, so memory follows active users."""
        self._next_sweep = now + SWEEP_SECONDS
        for k, (window, hits) in list(self._hits.items()):
            if not hits or hits[-1] <= now - window:
                del self._hits[k]


class RateLimiter:
    """Checks one named limit (e.g. "message") for one key (e.g. a user id)."""

    def __init__(
        self,
        limits_by_name: dict[str, str],
        redis_url: str | None = None,
        namespace: str = "chat_server",
        redis_timeout: float = 1.0,
    ) -> None:
        self._shared = (
            MovingWindowRateLimiter(
                RedisStorage(
                    "async+" + redis_url,
                    implementation="redispy",
                    key_prefix=f"{namespace}:limits",
                    wrap_exceptions=True,
                    socket_timeout=redis_timeout,
                    socket_connect_timeout=redis_timeout,
                )
            )
            if redis_url
            else None
        )
        self._local = MemoryWindows()
        self._shared_down = False
        self._retry_at = 0.0
        self._items: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in limits_by_name.items()
        }

    @property
    def degraded(self) -> bool:
        """Counting per process because Redis is unreachable."""
        return self._shared_down

    async def check(self, name: str, key: str) -> None:
        """Count one hit; RateLimited when any of the named limits is exceeded."""
        for index, item in enumerate(self._items.get(name, [])):
            if not await self._hit(item, index, name, key):
                raise RateLimited(self._refusal(item))

    async def _hit(self, item: RateLimitItem, index: int, name: str, key: str) -> bool:
        if self._shared is not None and time.monotonic() >= self._retry_at:
            if self._shared_down:
                # One request tries Redis again; the others meanwhile count locally.
                self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            try:
                allowed = await self._shared.hit(item, name, key)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
                if not self._shared_down:
                    self._shared_down = True
                    logger.warning(
                        "Redis is unreachable (%s): rate limits are counted per process"
                        " until it is back",
                        describe(exc),
                    )
            else:
                if self._shared_down:
                    self._shared_down = False
                    logger.warning("Redis is back: rate limits are shared again")
                return allowed
        return self._local.hit(item, index, name, key)

    @staticmethod
    def _refusal(item: RateLimitItem) -> str:
        return f"too many requests: at most {item} allowed"

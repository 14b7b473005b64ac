"""Per-user rate limits (the `limits` library); shared through Redis when REDIS_URL is set."""

import time
from collections import deque

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chat_server.errors import RateLimited

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
    ) -> None:
        self._shared = (
            MovingWindowRateLimiter(
                RedisStorage(
                    "async+" + redis_url,
                    implementation="redispy",
                    key_prefix=f"{namespace}:limits",
                )
            )
            if redis_url
            else None
        )
        self._local = MemoryWindows()
        self._items: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in limits_by_name.items()
        }

    async def check(self, name: str, key: str) -> None:
        """Count one hit; RateLimited when any of the named limits is exceeded."""
        for index, item in enumerate(self._items.get(name, [])):
            allowed = (
                await self._shared.hit(item, name, key)
                if self._shared
                else self._local.hit(item, index, name, key)
            )
            if not allowed:
                raise RateLimited(self._refusal(item))

    @staticmethod
    def _refusal(item: RateLimitItem) -> str:
        return f"too many requests: at most {item} allowed"

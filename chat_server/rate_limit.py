"""Per-user rate limits (the `limits` library); shared through Redis when REDIS_URL is set.

Redis being down must not stop sending: while it is unreachable (or too slow), the
limits are counted by each process on its own, and Redis is tried again every
REDIS_RETRY_SECONDS. Each switch is logged once.
"""

import logging
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chat_server.errors import RateLimited
from chat_server.faults import describe, is_unavailable

# While Redis is down, how long each process counts on its own before trying it again.
REDIS_RETRY_SECONDS = 5.0
logger = logging.getLogger(__name__)


class RateLimiter:
    """Checks one named limit (e.g. "message") for one key (e.g. a user id)."""

    def __init__(
        self,
        limits_by_name: dict[str, str],
        redis_url: str | None = None,
        namespace: str = "chat_server",
        redis_timeout: float = 1.0,
    ) -> None:
        self._local = MovingWindowRateLimiter(MemoryStorage())
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
        for item in self._items.get(name, []):
            if not await self._hit(item, name, key):
                raise RateLimited(self._refusal(item))

    async def _hit(self, item: RateLimitItem, name: str, key: str) -> bool:
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
        return await self._local.hit(item, name, key)

    @staticmethod
    def _refusal(item: RateLimitItem) -> str:
        return f"too many requests: at most {item} allowed"

"""Per-user rate limits (the `limits` library); shared through Redis when REDIS_URL is set."""

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from chat_server.errors import RateLimited


class RateLimiter:
    """Checks one named limit (e.g. "message") for one key (e.g. a user id)."""

    def __init__(
        self,
        limits_by_name: dict[str, str],
        redis_url: str | None = None,
        namespace: str = "chat_server",
    ) -> None:
        storage: Storage = (
            RedisStorage(
                "async+" + redis_url, implementation="redispy", key_prefix=f"{namespace}:limits"
            )
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._items: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in limits_by_name.items()
        }

    async def check(self, name: str, key: str) -> None:
        """Count one hit; RateLimited when any of the named limits is exceeded."""
        for item in self._items.get(name, []):
            if not await self._limiter.hit(item, name, key):
                raise RateLimited(self._refusal(item))

    @staticmethod
    def _refusal(item: RateLimitItem) -> str:
        return f"too many requests: at most {item} allowed"

"""The presence store: each user's open connections. `LocalPresence` keeps them in
memory for one process; `RedisPresence` (redis_store.py) shares them between processes."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Departure:
    """A user whose connections all died with their process (none said goodbye)."""

    user_id: int
    last_seen: datetime  # the last time any of their connections was renewed


# Called with the departures and the presence store that found them.
OnTimeout = Callable[[list[Departure], "PresenceStore"], Awaitable[None]]


class PresenceStore(Protocol):
    async def connected(self, user_id: int, sid: str) -> bool:
        """Record a connection; True when it is the user's first (they just came online)."""
        ...

    async def disconnected(self, user_id: int, sid: str) -> bool:
        """Forget a connection; True when it was the user's last (they just went offline)."""
        ...

    async def online_among(self, user_ids: list[int]) -> list[int]:
        """Those of `user_ids` with at least one open connection, in the order given."""
        ...

    async def start(self) -> None:
        """Begin background work (at startup, in the event loop)."""
        ...

    async def stop(self) -> None: ...


class LocalPresence:
    """One process: a set of connection ids per user."""

    def __init__(self) -> None:
        self._connections: dict[int, set[str]] = {}

    async def connected(self, user_id: int, sid: str) -> bool:
        connections = self._connections.setdefault(user_id, set())
        connections.add(sid)
        return len(connections) == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:
        connections = self._connections.get(user_id, set())
        connections.discard(sid)
        if not connections:
            self._connections.pop(user_id, None)
            return True
        return False

    async def online_among(self, user_ids: list[int]) -> list[int]:
        return [user_id for user_id in user_ids if self._connections.get(user_id)]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

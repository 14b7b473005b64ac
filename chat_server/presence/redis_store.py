"""The presence store in Redis, shared by several server processes."""

import asyncio
import contextlib
import logging
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from chat_server.faults import describe, is_unavailable, log_expected
from chat_server.presence.store import Departure, LocalPresence, OnTimeout, PresenceStore

logger = logging.getLogger(__name__)

# Atomic, so that of several processes reaping at once exactly one reports a departure.
_REAP_SCRIPT = (Path(__file__).parent / "reap.lua").read_text(encoding="utf-8")


class RedisPresence:
    """Several processes: per user, a Redis sorted set of connection ids scored by when
    each stops counting. Every process renews its own connections while it runs, so the
    connections of a process that died without saying goodbye stop counting after `ttl`
    seconds instead of keeping their users online for ever. The live processes then
    report those users to `on_timeout`, once each, so they can be announced offline."""

    REAP_BATCH = 100

    def __init__(
        self,
        url: str,
        namespace: str,
        ttl: float = 60.0,
        on_timeout: OnTimeout | None = None,
        timeout: float = 1.0,
    ) -> None:
        self._redis = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.down = False  # Redis unreachable: answering from this process's connections
        self._namespace = namespace
        self._ttl = ttl
        self._on_timeout = on_timeout
        self._local: dict[str, int] = {}  # this process's connections: sid -> user id
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False
        # A user's connection set outlives its last renewal by long enough for a reap
        # (every ttl/3, once due after ttl) to find it: the key's own expiry is a backstop.
        self._key_lifetime = math.ceil(ttl) * 4
        self._reap_script = self._redis.register_script(_REAP_SCRIPT)

    def _key(self, user_id: int) -> str:
        return f"{self._namespace}:presence:{user_id}"

    @property
    def _deadlines_key(self) -> str:
        return f"{self._namespace}:presence-deadlines"

    async def connected(self, user_id: int, sid: str) -> bool:
        try:
            first = await self._connected(user_id, sid)
        except Exception as exc:
            # Redis down must not stop connecting: count this process's connections, and
            # the renewer adds them to Redis once it is back.
            first = not self._has_local(user_id)
            self._local[sid] = user_id
            self._start_renewing()
            self._failed(exc)
            return first
        self._back()
        return first

    async def _connected(self, user_id: int, sid: str) -> bool:
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._key(user_id), "-inf", now)
            pipe.zadd(self._key(user_id), {sid: now + self._ttl})
            pipe.zcard(self._key(user_id))
            pipe.expire(self._key(user_id), self._key_lifetime)
            pipe.zadd(self._deadlines_key, {str(user_id): now + self._ttl}, gt=True)
            _, _, count, _, _ = await pipe.execute()
        # Only once Redis has it: a connection that failed here must not be renewed.
        self._local[sid] = user_id
        self._start_renewing()
        return int(count) == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:
        self._local.pop(sid, None)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._key(user_id), "-inf", time.time())
                pipe.zrem(self._key(user_id), sid)
                pipe.zcard(self._key(user_id))
                *_, count = await pipe.execute()
        except Exception as exc:
            # Left in Redis, the connection expires there after `ttl` instead.
            self._failed(exc)
            return not self._has_local(user_id)
        self._back()
        return int(count) == 0

    async def online_among(self, user_ids: list[int]) -> list[int]:
        if not user_ids:
            return []
        now = time.time()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
                for user_id in user_ids:
                    pipe.zcount(self._key(user_id), now, "+inf")
                counts = await pipe.execute()
        except Exception as exc:
            self._failed(exc)
            return [user_id for user_id in user_ids if self._has_local(user_id)]
        self._back()
        return [user_id for user_id, count in zip(user_ids, counts, strict=True) if count]

    def _has_local(self, user_id: int) -> bool:
        return user_id in self._local.values()

    def _failed(self, exc: Exception) -> None:
        if not is_unavailable(exc):
            raise exc
        if not self.down:
            self.down = True
            logger.warning(
                "Redis is unreachable (%s): presence counts this process's connections"
                " until it is back",
                describe(exc),
            )

    def _back(self) -> None:
        if self.down:
            self.down = False
            logger.warning("Redis is back: presence is shared again")

    async def start(self) -> None:
        """Renew and reap from startup: a process that has served no socket yet still
        announces the users of one that crashed."""
        self._start_renewing()

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        # Checked as well as cancelled: redis-py can turn a cancellation mid-command
        # into a ConnectionError, which the loop would otherwise survive.
        while not self._stopping:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self.renew()
            except Exception as exc:
                self._failed(exc)
                continue
            self._back()
            try:
                await self._reap_and_announce()
            except aioredis.RedisError as exc:
                log_expected(logger, "reap", f"could not reap presence in Redis: {describe(exc)}")

    async def _reap_and_announce(self) -> None:
        # Each batch is announced as soon as it is reaped: what Redis has handed over
        # must not be lost with a later batch's error.
        while True:
            looked_at, departures = await self.reap_batch()
            if departures:
                await self._announce(departures)
            # Every clean disconnect leaves a due entry too: go on until none is left.
            if looked_at < self.REAP_BATCH:
                return

    async def _announce(self, departures: list[Departure]) -> None:
        try:
            # Someone who came back since may already have been announced online.
            back = set(await self.online_among([d.user_id for d in departures]))
        except aioredis.RedisError:
            back = set()  # the announcement asks again for each user
        departures = [d for d in departures if d.user_id not in back]
        if not departures or self._on_timeout is None:
            return
        try:
            await self._on_timeout(departures, self)
        except Exception:  # the loop must outlive one failed announcement
            logger.exception("could not announce %d departures", len(departures))

    async def renew(self) -> None:
        """Push back the expiry of this process's connections, re-adding any that Redis
        lost (a restart, or a renewal late enough for another process to reap it). A
        socket closing during a renewal can linger for at most `ttl`."""
        expires = time.time() + self._ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid, user_id in list(self._local.items()):
                pipe.zadd(self._key(user_id), {sid: expires})
                pipe.expire(self._key(user_id), self._key_lifetime)
            for user_id in set(self._local.values()):
                pipe.zadd(self._deadlines_key, {str(user_id): expires}, gt=True)
            await pipe.execute()

    async def reap_batch(self) -> tuple[int, list[Departure]]:
        """Forget the expired connections of up to REAP_BATCH due users; return how many
        users were looked at and those who had no other connection (each is returned by
        one process only, however many reap at once)."""
        looked_at, *found = await self._reap_script(
            keys=[self._deadlines_key],
            args=[time.time(), f"{self._namespace}:presence:", self.REAP_BATCH],
        )
        departures = [
            Departure(int(user_id), datetime.fromtimestamp(float(expiry) - self._ttl, UTC))
            for user_id, expiry in zip(found[::2], found[1::2], strict=True)
        ]
        return int(looked_at), departures

    async def stop(self) -> None:
        """Stop renewing and close the Redis client (at shutdown; tests also use it to
        play a process that died)."""
        self._stopping = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self._redis.aclose()


def make_presence_store(
    redis_url: str | None,
    namespace: str,
    *,
    ttl: float,
    on_timeout: OnTimeout,
    timeout: float = 1.0,
) -> PresenceStore:
    if redis_url:
        return RedisPresence(redis_url, namespace, ttl=ttl, on_timeout=on_timeout, timeout=timeout)
    return LocalPresence()  # one process: its connections die with it

"""Room names, and moving a user's live sockets in and out of chat rooms.

python-socketio has no "every socket of this user, on every process, joins that room".
We send that order through the client manager itself (Redis pub/sub when several
processes run), so it reaches every process in order with the messages that follow.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import socketio

from chat_server.faults import describe, is_unavailable, log_expected
from chat_server.realtime.fanout import InlineFanoutManager

NAMESPACE = "/"
JOIN_ORDER = "chat_server:join_chat"
LEAVE_ORDER = "chat_server:leave_chat"
MEMBERSHIP_ORDERS = (JOIN_ORDER, LEAVE_ORDER)
logger = logging.getLogger(__name__)


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def chat_room(chat_id: int) -> str:
    return f"chat:{chat_id}"


async def apply_membership_order(server: socketio.AsyncServer, order: str, data: Any) -> None:
    """Move this process's sockets of `data['user_id']` into or out of the chat room."""
    room = chat_room(int(data["chat_id"]))
    sids = [
        sid for sid, _ in server.manager.get_participants(NAMESPACE, user_room(data["user_id"]))
    ]
    for sid in sids:
        if order == JOIN_ORDER:
            await server.enter_room(sid, room, namespace=NAMESPACE)
        else:
            await server.leave_room(sid, room, namespace=NAMESPACE)


class ChatRedisManager(socketio.AsyncRedisManager, InlineFanoutManager):  # type: ignore[misc]
    """The Redis manager, plus the membership orders above (carried as emits), that
    degrades instead of stopping when Redis is down or frozen. Its local deliveries
    are InlineFanoutManager's (the base after AsyncPubSubManager in the MRO).

    Every emit reaches this process's sockets before it is published (the library's
    order). Publishing waits at most `timeout`; after a failure this process stops
    publishing for REDIS_RETRY_SECONDS, so sends are not held up by a dead Redis, and
    the sockets of other processes catch up with `sync` (logged once per outage). The
    listener reconnects within LISTEN_RETRY_MAX_SECONDS of Redis coming back.
    """

    REDIS_RETRY_SECONDS = 2.0
    LISTEN_RETRY_MAX_SECONDS = 2.0

    def __init__(self, url: str, *, channel: str, timeout: float = 1.0) -> None:
        # The listener blocks on its connection for as long as nobody publishes: only
        # connecting is bounded there.
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": timeout})
        self._publisher = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._publish_retry_at = 0.0
        self.down = False

    async def _publish(self, data: Any) -> None:
        if time.monotonic() < self._publish_retry_at:
            return
        try:
            await self._publisher.publish(self.channel, self.json.dumps(data))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self._publish_retry_at = time.monotonic() + self.REDIS_RETRY_SECONDS
            if not self.down:
                self.down = True
                logger.warning(
                    "Redis is unreachable (%s): events reach this process's sockets only;"
                    " other processes' clients catch up with sync",
                    describe(exc),
                )
            return
        if self.down:
            self.down = False
            logger.warning("Redis is back: events reach every process again")

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        # The library's loop, with a short, capped retry delay and one log line per
        # outage instead of one error per attempt.
        retry_sleep = 0.25
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 0.25
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                if not is_unavailable(exc):
                    logger.exception("the Redis listener failed; reconnecting")
                else:
                    log_expected(logger, "listen", f"cannot receive from Redis: {describe(exc)}")
                subscribed = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, self.LISTEN_RETRY_MAX_SECONDS)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") in MEMBERSHIP_ORDERS:
            # The manager wraps emit arguments in a list.
            data = message["data"]
            await apply_membership_order(
                self.server, message["event"], data[0] if isinstance(data, list) else data
            )
            return
        await super()._handle_emit(message)


async def send_membership_order(
    server: socketio.AsyncServer, order: str, *, user_id: int, chat_id: int
) -> None:
    data = {"user_id": user_id, "chat_id": chat_id}
    if isinstance(server.manager, ChatRedisManager):
        await server.manager.emit(order, data, namespace=NAMESPACE)
    else:
        await apply_membership_order(server, order, data)

"""The python-socketio AsyncServer, configured from settings."""

import asyncio
import logging
from typing import Any

import socketio

from chat_server.config import Settings
from chat_server.faults import describe, log_expected
from chat_server.realtime import wire_json
from chat_server.realtime.acks import error_ack
from chat_server.realtime.fanout import InlineFanoutManager
from chat_server.realtime.origins import same_origin_or
from chat_server.realtime.rooms import ChatRedisManager
from chat_server.realtime.session_limits import SessionLimits

logger = logging.getLogger(__name__)


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that never lets a client trigger a lifecycle handler, drops packets it
    cannot decode, limits the sessions that have not authenticated
    (realtime/session_limits.py), closes a session whose client does not keep up, and
    drains at shutdown.

    python-socketio dispatches a client's event named `connect` or `disconnect` to the
    handlers it calls itself when a socket connects or goes away: a client could make its
    contacts see it offline while it stays connected. Those names are dropped here, where
    client events come in (pinned python-socketio; tests/realtime cover it).
    """

    def __init__(
        self,
        *args: Any,
        per_address: int,
        connect_timeout: float,
        max_queued: int,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._max_queued = max_queued
        self.draining = False  # set at shutdown: see drain()
        self._in_flight = 0
        self._overflowing: set[str] = set()  # sessions being closed for it
        self._closers: set[asyncio.Task[None]] = set()
        self.session_limits = SessionLimits(
            per_address=per_address,
            connect_timeout=connect_timeout,
            namespace_connected=lambda eio_sid: (
                self.manager.sid_from_eio_sid(eio_sid, "/") is not None
            ),
            close=self.hard_close,
        )

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if self.draining and event not in self.reserved_events:
            # Refused at once rather than cut off half-way: the client retries elsewhere.
            return error_ack("unavailable", "the server is restarting; retry shortly")
        self._in_flight += 1
        try:
            return await super()._trigger_event(event, namespace, *args)
        finally:
            self._in_flight -= 1

    async def drain(self, grace: float) -> None:
        """At shutdown, before the connections close: refuse new sessions and events,
        and wait (at most `grace` seconds) until the events being handled have been
        answered and every session's queued packets (their acks) are written out."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline:
            if self._in_flight == 0 and all(s.queue.empty() for s in self.eio.sockets.values()):
                await asyncio.sleep(0.05)  # the last packet taken off a queue is written
                return
            await asyncio.sleep(0.02)
        logger.warning("shutdown grace period over: closing connections with work in flight")

    async def hard_close(self, eio_sid: str) -> None:
        """Close a session whether or not its client cooperates. engine.io's disconnect
        only sends the client a CLOSE packet and waits for the client to hang up; the
        WebSocket closes when the session's writer ends, which an empty packet does."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None:
            return
        try:
            await socket.close(wait=False)  # runs the disconnect handlers, queues CLOSE
        finally:
            self.eio.sockets.pop(eio_sid, None)
            socket.queue.put_nowait(None)

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if await self._within_bound(eio_sid):
            await super()._send_packet(eio_sid, pkt)

    async def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        if await self._within_bound(eio_sid):
            await super()._send_eio_packet(eio_sid, eio_pkt)

    async def _within_bound(self, eio_sid: str) -> bool:
        """Whether the client keeps up: engine.io queues a session's packets without
        limit while its client does not read. One over the bound is closed instead
        (it catches up with `sync` when it comes back)."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.queue.qsize() < self._max_queued:
            return True
        if eio_sid not in self._overflowing:
            log_expected(
                logger,
                "queue",
                f"a client left {self._max_queued} packets unread (SOCKET_MAX_QUEUED_PACKETS);"
                " disconnected it",
            )
            # In the background: the disconnect handlers must not hold up this emit,
            # which may be a whole room's.
            self._overflowing.add(eio_sid)
            task = asyncio.ensure_future(self.hard_close(eio_sid))
            self._closers.add(task)  # the loop keeps only weak references
            task.add_done_callback(self._closers.discard)
            task.add_done_callback(lambda _: self._overflowing.discard(eio_sid))
        return False

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> bool | None:
        if self.draining or not self.session_limits.admit(eio_sid, environ):
            return False  # engine.io refuses the session
        await super()._handle_eio_connect(eio_sid, environ)
        return None

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            self.session_limits.gone(eio_sid)

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: list[Any]
    ) -> None:
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            log_expected(logger, "event", "a client sent an event without a name; dropped")
            return
        if data[0] in self.reserved_events:
            logger.debug("a client sent the reserved event %r; ignored", data[0])
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        """Drop a packet python-socketio cannot decode, with one log line per interval
        instead of engine.io's traceback each. Only decoding raises these here: every
        handler answers its own errors (realtime/acks.py, handlers.py)."""
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            self._binary_packet.pop(eio_sid, None)
            log_expected(
                logger, "packet", f"a client sent a malformed packet ({describe(exc)}); dropped"
            )


def create_socket_server(settings: Settings) -> SocketServer:
    manager = (
        ChatRedisManager(
            settings.redis_url,
            channel=settings.redis_namespace,
            timeout=settings.redis_timeout_seconds,
        )
        if settings.redis_url
        else InlineFanoutManager()
    )
    return SocketServer(
        async_mode="asgi",
        client_manager=manager,
        # The page's own origin on any address and port, and the listed sites; never '*'.
        cors_allowed_origins=same_origin_or(settings.cors_origins),
        max_http_buffer_size=settings.max_socket_payload_bytes,
        per_address=settings.max_connections_per_address,
        connect_timeout=settings.socketio_connect_timeout_seconds,
        max_queued=settings.socket_max_queued_packets,
        ping_interval=settings.socket_ping_interval_seconds,
        ping_timeout=settings.socket_ping_timeout_seconds,
        json=wire_json,
        # One client's events run one at a time, so back-to-back sends keep their order.
        async_handlers=False,
        # engineio's logger would print tokens and message bodies.
        logger=False,
        engineio_logger=False,
    )


class _NotRefusals(logging.Filter):
    """engine.io warns of each refused session; SessionLimits logs them, summarised."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Application rejected connection"


logging.getLogger("engineio.server").addFilter(_NotRefusals())

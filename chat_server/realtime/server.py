"""The python-socketio AsyncServer, configured from settings."""

import logging
from typing import Any

import socketio

from chat_server.config import Settings
from chat_server.faults import describe, log_expected
from chat_server.realtime import wire_json
from chat_server.realtime.origins import same_origin_or
from chat_server.realtime.rooms import ChatRedisManager

logger = logging.getLogger(__name__)


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that never lets a client trigger a lifecycle handler.

    python-socketio dispatches a client's event named `connect` or `disconnect` to the
    handlers it calls itself when a socket connects or goes away: a client could make its
    contacts see it offline while it stays connected. Those names are dropped here, where
    client events come in (pinned python-socketio; tests/realtime cover it).
    """

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
        else None
    )
    return SocketServer(
        async_mode="asgi",
        client_manager=manager,
        # The page's own origin on any address and port, and the listed sites; never '*'.
        cors_allowed_origins=same_origin_or(settings.cors_origins),
        max_http_buffer_size=settings.max_socket_payload_bytes,
        json=wire_json,
        # One client's events run one at a time, so back-to-back sends keep their order.
        async_handlers=False,
        # engineio's logger would print tokens and message bodies.
        logger=False,
        engineio_logger=False,
    )

"""The python-socketio AsyncServer, configured from settings."""

import socketio

from chat_server.config import Settings
from chat_server.realtime.origins import same_origin_or
from chat_server.realtime.rooms import ChatRedisManager


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    manager = (
        ChatRedisManager(settings.redis_url, channel=settings.redis_namespace)
        if settings.redis_url
        else None
    )
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        # The page's own origin on any address and port, and the listed sites; never '*'.
        cors_allowed_origins=same_origin_or(settings.cors_origins),
        max_http_buffer_size=settings.max_socket_payload_bytes,
        # One client's events run one at a time, so back-to-back sends keep their order.
        async_handlers=False,
        # engineio's logger would print tokens and message bodies.
        logger=False,
        engineio_logger=False,
    )

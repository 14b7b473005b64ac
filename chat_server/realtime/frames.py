"""An ASGI layer in front of Socket.IO that disconnects a WebSocket speaking something
other than Engine.IO.

python-engineio decodes each WebSocket text frame outside any error handling: an empty
frame, or one that does not start with a packet type digit, raises out of the ASGI app
(uvicorn logs "Exception in ASGI application" with a traceback, every time) and leaves
the session to time out. Such a client is disconnected here, with one log line per
interval. Binary frames are Engine.IO messages as they are.
"""

import logging
from typing import Any

from chat_server.faults import log_expected

logger = logging.getLogger(__name__)

# Engine.IO v4 packet types: open, close, ping, pong, message, upgrade, noop.
_PACKET_TYPES = frozenset("0123456")
Scope = dict[str, Any]
Message = dict[str, Any]


def _engineio_frame(message: Message) -> bool:
    text = message.get("text")
    return text is None or (len(text) > 0 and text[0] in _PACKET_TYPES)


class FrameGuard:
    """Wraps the Socket.IO ASGI app (see create_asgi_app)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self._app(scope, receive, send)
            return

        async def guarded_receive() -> Message:
            message: Message = await receive()
            if message["type"] == "websocket.receive" and not _engineio_frame(message):
                log_expected(
                    logger,
                    "frame",
                    "a client sent a WebSocket frame that is not Engine.IO; disconnected it",
                )
                # What engine.io sees when the client goes away: it closes the session.
                return {"type": "websocket.disconnect", "code": 1003}
            return message

        await self._app(scope, guarded_receive, send)

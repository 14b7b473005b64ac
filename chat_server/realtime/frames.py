"""An ASGI layer in front of Socket.IO for WebSockets: it disconnects a client that speaks
something other than Engine.IO, and one that stops reading.

python-engineio decodes each WebSocket text frame outside any error handling: an empty
frame, or one that does not start with a packet type digit, raises out of the ASGI app
(uvicorn logs "Exception in ASGI application" with a traceback, every time) and leaves
the session to time out. Such a client is disconnected here, with one log line per
interval. Binary frames are Engine.IO messages as they are.

A client that stops reading fills the connection's buffers; uvicorn then holds every send
until the buffer drains, which it never does, and neither its keepalive nor engine.io's
ping timeout can close such a connection (closing waits for the buffer, too). A send that
waits longer than `send_timeout` aborts the connection instead: its memory is freed and
engine.io sees the client gone (it catches up with `sync` when it comes back). Only a
send that will wait is timed (uvicorn says so, see _blocks).
"""

import asyncio
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


def _blocks(send: Any) -> bool:
    """Whether `send` would wait: uvicorn's WebSocket protocols wait only while the
    transport has paused writing (its buffer is over the high-water mark), on an event
    named `writable`. Anything else is assumed to wait."""
    writable = getattr(getattr(send, "__self__", None), "writable", None)
    return not (isinstance(writable, asyncio.Event) and writable.is_set())


def _abort(send: Any) -> None:
    """Drop the connection at once, buffered data and all. uvicorn's WebSocket protocols
    hand the app their own bound `send`, whose object holds the transport (tested with
    the pinned uvicorn); a close would wait for the buffer to drain."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()


class FrameGuard:
    """Wraps the Socket.IO ASGI app (see create_asgi_app)."""

    def __init__(self, app: Any, *, send_timeout: float = 10.0) -> None:
        self._app = app
        self._send_timeout = send_timeout

    @property
    def socket_server(self) -> Any:
        """The Socket.IO server behind (python-engineio's ASGIApp keeps it)."""
        return self._app.engineio_server

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

        async def guarded_send(message: Message) -> None:
            # A timer per frame costs more than the frame itself: only a send that will
            # wait for the client gets one.
            if message["type"] not in ("websocket.send", "websocket.close") or not _blocks(send):
                await send(message)
                return
            try:
                async with asyncio.timeout(self._send_timeout):
                    await send(message)
            except TimeoutError:
                log_expected(
                    logger,
                    "stalled",
                    f"a client read nothing for {self._send_timeout:g}s while the server had"
                    " data for it; disconnected it",
                )
                _abort(send)
                raise

        await self._app(scope, guarded_receive, guarded_send)

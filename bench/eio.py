"""A lean Socket.IO client: Engine.IO 4 / Socket.IO 5 text frames over a plain websocket.

python-socketio's AsyncClient costs about as much CPU per message as the server; this one
does only what the benchmark needs, so most of the machine goes to the server:

    open       <- 0{"sid":…,"pingInterval":…}
    connect    -> 40{"token":…}          <- 40{"sid":…}  (or 44{"message":…}: refused)
    ping/pong  <- 2                      -> 3
    call       -> 42<id>["event",data]   <- 43<id>[ack]
    event      <- 42["event",data]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

CONNECT_TIMEOUT = 30.0
EventHandler = Callable[[str, Any], None]


class Refused(Exception):
    """The server answered the Socket.IO connect with an error packet (44)."""


def socket_url(base_url: str) -> str:
    return base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"


def _deflate_offer() -> list[ClientPerMessageDeflateFactory]:
    # What browsers send: "permessage-deflate; client_max_window_bits"; the server picks.
    return [ClientPerMessageDeflateFactory(client_max_window_bits=True)]


class Socket:
    """One Socket.IO connection. Events go to `on_event`; `call` waits for the ack."""

    def __init__(self, ws: ClientConnection, on_event: EventHandler | None) -> None:
        self.ws = ws
        self.on_event = on_event
        self._ids = itertools.count()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(
        cls,
        base_url: str,
        token: str,
        on_event: EventHandler | None = None,
        deflate: bool = False,
    ) -> Socket:
        ws = await connect(
            socket_url(base_url),
            extensions=_deflate_offer() if deflate else None,
            compression=None,
            open_timeout=CONNECT_TIMEOUT,
            ping_interval=None,  # Engine.IO pings at its own level
            max_queue=None,
        )
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                opening = await ws.recv()
                if not isinstance(opening, str) or not opening.startswith("0"):
                    raise Refused(f"unexpected open packet {opening!r}")
                await ws.send("40" + json.dumps({"token": token}))
                early: list[str] = []  # events the server's connect handler emitted
                while True:
                    reply = await ws.recv()
                    if reply == "2":
                        await ws.send("3")
                    elif isinstance(reply, str) and reply.startswith("42"):
                        early.append(reply)
                    elif isinstance(reply, str) and reply.startswith("40"):
                        break
                    else:
                        raise Refused(f"connect refused: {reply!r}")
        except BaseException:
            await ws.close()
            raise
        sock = cls(ws, on_event)
        for frame in early:
            sock._dispatch(frame)
        sock._reader = asyncio.create_task(sock._read())
        return sock

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if not isinstance(frame, str):
                    continue
                if frame == "2":
                    await self.ws.send("3")
                elif frame.startswith("43"):
                    start = frame.index("[")
                    future = self._acks.pop(int(frame[2:start]), None)
                    if future is not None and not future.done():
                        future.set_result(json.loads(frame[start:])[0])
                elif frame.startswith("42"):
                    self._dispatch(frame)
                elif frame.startswith("41") or frame == "1":  # disconnected by the server
                    break
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for future in self._acks.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))
            self._acks.clear()

    def _dispatch(self, frame: str) -> None:
        if self.on_event is not None:
            event, data = json.loads(frame[frame.index("[") :])[:2]
            self.on_event(event, data)

    async def call(self, event: str, data: Any, wait: float = 10.0) -> Any:
        """Emit with an ack and wait for it."""
        ack_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            await self.ws.send(f"42{ack_id}" + json.dumps([event, data]))
            async with asyncio.timeout(wait):
                return await future
        finally:
            self._acks.pop(ack_id, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader

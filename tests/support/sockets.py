"""Real python-socketio clients for tests, recording what they receive."""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import socketio

EVENTS = (
    "message",
    "message_updated",
    "messages_read",
    "read_receipt",
    "typing",
    "presence",
    "chat_joined",
    "chat_left",
    "member_added",
    "member_removed",
    "chat_updated",
)


class RecordingClient:
    """An AsyncClient over the websocket transport that keeps every event it gets."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        # Every event in the order it arrived, as (event, data).
        self.log: list[tuple[str, Any]] = []
        for event in (*EVENTS, "connect_error"):
            self.sio.on(event, handler=self._recorder(event))

    def _recorder(self, event: str) -> Callable[[Any], None]:
        def record(data: Any = None) -> None:
            self.received[event].append(data)
            self.log.append((event, data))

        return record

    async def connect(self, base_url: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(
            base_url,
            auth=auth,
            transports=["websocket"],
            socketio_path="socket.io",
            wait_timeout=10,
        )

    async def call(self, event: str, data: Any = None, within: float = 10) -> Any:
        return await self.sio.call(event, data, timeout=within)

    async def wait_for(
        self, event: str, predicate: Callable[[list[Any]], bool] | None = None, within: float = 10
    ) -> list[Any]:
        """Wait until the events of this name satisfy `predicate` (default: at least one)."""
        check = predicate or (lambda items: len(items) > 0)
        deadline = asyncio.get_running_loop().time() + within
        while not check(self.received[event]):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {event}: {self.received[event]!r}")
            await asyncio.sleep(0.02)
        return self.received[event]

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def connected(base_url: str, token: str) -> RecordingClient:
    client = RecordingClient()
    await client.connect(base_url, token)
    return client

"""A TCP relay between the code under test and a real server (PostgreSQL, Redis), for
network failures on cue: cut every connection, or lose a command or its reply."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class TcpRelay:
    """Listens on 127.0.0.1:`port`; relays to `target_host`:`target_port`, or to the unix
    socket `target_socket` (an embedded PostgreSQL listens on one)."""

    def __init__(
        self,
        target_host: str = "127.0.0.1",
        target_port: int = 0,
        port: int = 0,
        *,
        target_socket: str | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.target_socket = target_socket
        self.port = port
        self.requests_lost = 0
        self.replies_lost = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._lose_request: tuple[bytes, int] | None = None
        self._lose_reply: tuple[bytes, int] | None = None
        self._after_reply_lost: Callable[[], Awaitable[None]] | None = None
        self._after_request_lost: Callable[[], Awaitable[None]] | None = None

    async def restore(self) -> None:
        """Accept connections again (and at first)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones, as an outage does."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    def lose_next(
        self,
        command: bytes,
        times: int = 1,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """The next `times` client chunks containing `command` never reach the server: the
        connection drops instead (the server undoes what that connection had begun).
        `then` runs once the server has let go, before the client hears anything."""
        self._lose_request = (command, times)
        self._after_request_lost = then

    def lose_reply_to_next(
        self,
        command: bytes,
        times: int = 1,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """The next `times` client chunks containing `command` reach the server, whose
        replies are then dropped with the connection: the server did it, the client cannot
        know. `then` runs once a reply is held back, before the client hears anything."""
        self._lose_reply = (command, times)
        self._after_reply_lost = then

    @staticmethod
    def _take(
        armed: tuple[bytes, int] | None, data: bytes
    ) -> tuple[bool, tuple[bytes, int] | None]:
        if armed is None or armed[0] not in data:
            return False, armed
        command, times = armed
        return True, (command, times - 1) if times > 1 else None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.target_socket is not None:
            up_reader, up_writer = await asyncio.open_unix_connection(self.target_socket)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        lose_next_reply = asyncio.Event()
        request_lost, client_may_know = asyncio.Event(), asyncio.Event()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                lost, self._lose_request = self._take(self._lose_request, data)
                if lost:
                    self.requests_lost += 1
                    request_lost.set()
                    up_writer.close()  # the server rolls back what this connection began
                    if self._after_request_lost is not None:
                        then, self._after_request_lost = self._after_request_lost, None
                        await then()
                    client_may_know.set()
                    writer.close()
                    return
                lost, self._lose_reply = self._take(self._lose_reply, data)
                if lost:
                    lose_next_reply.set()  # before sending: the reply comes after
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                if lose_next_reply.is_set():
                    self.replies_lost += 1
                    if self._after_reply_lost is not None:
                        then, self._after_reply_lost = self._after_reply_lost, None
                        await then()
                    break
                writer.write(data)
                await writer.drain()
            if request_lost.is_set():
                await client_may_know.wait()
            writer.close()
            up_writer.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(client_to_server(), server_to_client())

"""A TCP relay between the code under test and a real server (PostgreSQL, Redis), for
network failures on cue: cut every connection, or lose the reply to one command."""

import asyncio
import contextlib


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
        self.replies_lost = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._lose_reply_to: bytes | None = None
        self._lose_request: bytes | None = None
        self.requests_lost = 0

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

    def lose_next(self, command: bytes) -> None:
        """The next client chunk containing `command` never reaches the server: the
        connection drops instead (the server undoes what that connection had begun)."""
        self._lose_request = command

    def lose_reply_to_next(self, command: bytes) -> None:
        """The next client chunk containing `command` reaches the server, whose reply is
        then dropped with the connection: the server did it, the client cannot know."""
        self._lose_reply_to = command

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.target_socket is not None:
            up_reader, up_writer = await asyncio.open_unix_connection(self.target_socket)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        lose_next_reply = asyncio.Event()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                if self._lose_request is not None and self._lose_request in data:
                    self._lose_request = None
                    self.requests_lost += 1
                    writer.close()
                    break
                if self._lose_reply_to is not None and self._lose_reply_to in data:
                    self._lose_reply_to = None
                    lose_next_reply.set()  # before sending: the reply comes after
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                if lose_next_reply.is_set():
                    self.replies_lost += 1
                    break
                writer.write(data)
                await writer.drain()
            writer.close()
            up_writer.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(client_to_server(), server_to_client())

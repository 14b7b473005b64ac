"""A stop (SIGTERM, Ctrl+C) that drains instead of cutting clients off mid-request."""

import socket
from collections.abc import Awaitable, Callable

import uvicorn


class DrainingServer(uvicorn.Server):
    """uvicorn's server, whose shutdown first stops accepting connections and lets the
    Socket.IO events in flight be answered (`drain`, at most `grace` seconds); only then
    does uvicorn close the connections (clients see the disconnect at once and reconnect
    elsewhere) and run the app's shutdown."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        drain: Callable[[float], Awaitable[None]],
        grace: float,
    ) -> None:
        super().__init__(config)
        self._drain = drain
        self._grace = grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections; uvicorn's own close is a no-op after
        if not self.force_exit:
            await self._drain(self._grace)
        await super().shutdown(sockets=sockets)

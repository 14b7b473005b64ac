"""The server in the test's own process and event loop (uvicorn on a free loopback port),
for tests that hand it a presence store of their own."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from chat_server.app import create_asgi_app
from chat_server.config import Settings
from chat_server.users.presence import LocalPresence, Presence
from tests.conftest import free_port


class FlakyPresence(LocalPresence):
    """LocalPresence whose first `failures` connects fail, as when Redis is briefly down."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def connected(self, user_id: int, sid: str) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("presence store unavailable")
        return await super().connected(user_id, sid)


@asynccontextmanager
async def serving(settings: Settings, database_url: str, presence: Presence) -> AsyncIterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The page's socket is refused unless its origin is allowed.
    own = settings.model_copy(update={"cors_origins": [base_url]})
    app = create_asgi_app(own, database_url=database_url, presence=presence)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        await task

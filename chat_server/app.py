"""create_app(): FastAPI (REST, static page) and Socket.IO wrapped as one ASGI app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from chat_server import __version__
from chat_server.api_docs import DESCRIPTION, TAGS, install_api_docs
from chat_server.auth.router import router as auth_router
from chat_server.chats.router import router as chats_router
from chat_server.config import Settings, get_settings
from chat_server.direct_sql import warm_up
from chat_server.groups.router import router as groups_router
from chat_server.health import router as health_router
from chat_server.http_errors import install_error_handlers
from chat_server.messages.router import router as messages_router
from chat_server.presence.store import PresenceStore
from chat_server.realtime.frames import FrameGuard
from chat_server.realtime.handlers import register_handlers
from chat_server.realtime.publisher import SocketPublisher
from chat_server.realtime.server import create_socket_server
from chat_server.runtime import build_runtime
from chat_server.search.router import router as search_router
from chat_server.security import jwt_secret
from chat_server.users.router import router as users_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(
    settings: Settings | None = None, *, database_url: str, presence: PresenceStore | None = None
) -> FastAPI:
    """The REST app; `app.state.sio` is its Socket.IO server (see create_asgi_app).
    `presence` defaults to what the settings ask for (tests pass their own)."""
    settings = settings or get_settings()
    jwt_secret(settings)  # a missing or broken secret stops the start, not the first login
    sio = create_socket_server(settings)
    runtime = build_runtime(
        settings, database_url, publisher=SocketPublisher(sio), presence=presence
    )
    register_handlers(sio, runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.presence.start()
        await warm_up(runtime.engine)
        yield
        await runtime.presence.stop()
        await runtime.lanes.close()
        await runtime.engine.dispose()
        if runtime.redis is not None:
            await runtime.redis.aclose()

    app = FastAPI(
        title="chat_server",
        summary="A self-hostable, Telegram-like messenger: REST + Socket.IO",
        description=DESCRIPTION,
        version=__version__,
        openapi_tags=TAGS,
        # Served by install_api_docs from static/vendor instead of a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.sio = sio
    install_error_handlers(app)
    # Only other sites' pages need this: the bundled page calls the API from its own
    # origin, which browsers never check (unlike the Socket.IO origin check, see
    # realtime/origins.py), so it works on any address and port without being listed.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Total-Count"],
    )
    for router in (
        health_router,
        auth_router,
        users_router,
        chats_router,
        groups_router,
        messages_router,
        search_router,
    ):
        app.include_router(router)
    install_api_docs(app)
    _mount_web_client(app)
    return app


def _mount_web_client(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")


def create_asgi_app(
    settings: Settings | None = None, *, database_url: str, presence: PresenceStore | None = None
) -> FrameGuard:
    """What uvicorn serves: Socket.IO at /socket.io, everything else to FastAPI (whose
    lifespan still runs through the wrapper), behind the frame guard (realtime/frames.py)."""
    settings = settings or get_settings()
    app = create_app(settings, database_url=database_url, presence=presence)
    return FrameGuard(
        socketio.ASGIApp(app.state.sio, other_asgi_app=app, socketio_path="socket.io"),
        send_timeout=settings.socket_send_timeout_seconds,
    )

"""The lean reference: the least a chat server can do on this stack, to measure ours against.

    python bench/lean_reference.py --port PORT --dsn postgresql://…

uvicorn + python-socketio AsyncServer (ASGI) + a plain asyncpg pool, speaking just enough
of the protocol for the load generators: `POST /auth/register`, `POST /auth/login` (the
token is the user id, unsigned), `POST /groups`, a Socket.IO connect with `auth: {token}`
joining the user's chat rooms from an in-memory membership map, and `send_message
{chat_id, text, client_msg_id}`: one INSERT … ON CONFLICT DO NOTHING into its own table,
the `message` emit to the chat's room (the sender's socket too) and the ack
`{ok, message, duplicate}`. No hashing, no seq, no read status, no rate limits, no
pydantic. uvicorn runs with the settings `python -m chat_server serve` uses.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TABLE = "ref_messages"
CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    chat_id bigint NOT NULL,
    sender_id bigint NOT NULL,
    text text NOT NULL,
    client_msg_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender_id, client_msg_id)
)
"""
INSERT = f"""
INSERT INTO {TABLE} (chat_id, sender_id, text, client_msg_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id, created_at
"""
EARLIER = f"SELECT id, created_at FROM {TABLE} WHERE sender_id = $1 AND client_msg_id = $2"


def create_app(dsn: str, pool_size: int) -> socketio.ASGIApp:
    users: dict[str, int] = {}  # email -> id
    user_ids = itertools.count(1)
    chat_ids = itertools.count(1)
    chats_of: defaultdict[int, set[int]] = defaultdict(set)  # user id -> chat ids
    pool: asyncpg.Pool | None = None
    sio = socketio.AsyncServer(async_mode="asgi", async_handlers=False, cors_allowed_origins=[])

    def caller(request: Request) -> int | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return int(token) if token.isdigit() else None

    async def register(request: Request) -> Response:
        body = await request.json()
        user_id = users.setdefault(body["email"], next(user_ids))
        return JSONResponse({"id": user_id, "name": body["name"]}, status_code=201)

    async def login(request: Request) -> Response:
        user_id = users.get((await request.json())["email"])
        if user_id is None:
            return JSONResponse({"detail": "unknown"}, status_code=401)
        return JSONResponse({"access_token": str(user_id), "token_type": "bearer"})

    async def create_group(request: Request) -> Response:
        creator = caller(request)
        if creator is None:
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        body = await request.json()
        chat_id = next(chat_ids)
        for user_id in {creator, *body["member_ids"]}:
            chats_of[user_id].add(chat_id)
        return JSONResponse({"id": chat_id, "chat_id": chat_id}, status_code=201)

    async def ready(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        await pool.execute(CREATE)
        yield
        await pool.close()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token.isdigit():
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        user_id = int(token)
        await sio.save_session(sid, {"user_id": user_id})
        for chat_id in chats_of[user_id]:
            await sio.enter_room(sid, f"chat:{chat_id}")

    @sio.event
    async def send_message(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        assert pool is not None
        sender_id = (await sio.get_session(sid))["user_id"]
        chat_id, text = data["chat_id"], data["text"]
        if chat_id not in chats_of[sender_id]:
            return {"ok": False, "error": {"code": "not_found", "message": "chat not found"}}
        client_msg_id = uuid.UUID(data["client_msg_id"])
        row = await pool.fetchrow(INSERT, chat_id, sender_id, text, client_msg_id)
        duplicate = row is None
        if duplicate:
            row = await pool.fetchrow(EARLIER, sender_id, client_msg_id)
        message = {
            "id": row["id"],
            "chat_id": chat_id,
            "sender_id": sender_id,
            "text": text,
            "created_at": row["created_at"].isoformat(),
            "client_msg_id": str(client_msg_id),
        }
        if not duplicate:
            await sio.emit("message", message, room=f"chat:{chat_id}")
        return {"ok": True, "message": message, "duplicate": duplicate}

    rest = Starlette(
        routes=[
            Route("/auth/register", register, methods=["POST"]),
            Route("/auth/login", login, methods=["POST"]),
            Route("/groups", create_group, methods=["POST"]),
            Route("/ready", ready),
        ],
        lifespan=lifespan,
    )
    return socketio.ASGIApp(sio, other_asgi_app=rest)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dsn", required=True, help="postgresql://… (asyncpg's form)")
    p.add_argument("--pool-size", type=int, default=20)
    args = p.parse_args()
    app = create_app(args.dsn, args.pool_size)
    # As chat_server/__main__.py runs uvicorn (the log level the benchmark gives ours).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=5,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()

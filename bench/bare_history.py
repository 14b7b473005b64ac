"""The bare history endpoint ours is measured against: FastAPI + asyncpg, nothing else.

    python bench/bare_history.py --port PORT --dsn postgresql://…

`GET /history/{chat_id}?limit=&offset=` reads the project's `messages` table with the
same index range ours uses (seq is gapless, so `offset k` is `seq > k`) and returns the
same JSON ours does, with no token, no membership check and no pydantic. uvicorn runs with
the settings `python -m chat_server serve` uses.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

PAGE = """
SELECT id, chat_id, sender_id, seq, text, created_at, is_read, client_msg_id
FROM messages WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""


def as_json(row: asyncpg.Record) -> dict[str, Any]:
    message = dict(row)
    message["created_at"] = row["created_at"].isoformat().replace("+00:00", "Z")
    message["client_msg_id"] = str(row["client_msg_id"])
    return message


def create_app(dsn: str, pool_size: int) -> FastAPI:
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/history/{chat_id}")
    async def history(chat_id: int, limit: int = 50, offset: int = 0) -> JSONResponse:
        assert pool is not None
        rows = await pool.fetch(PAGE, chat_id, offset, limit)
        return JSONResponse([as_json(row) for row in rows])

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dsn", required=True, help="postgresql://… (asyncpg's form)")
    p.add_argument("--pool-size", type=int, default=20)
    args = p.parse_args()
    uvicorn.run(
        create_app(args.dsn, args.pool_size),
        host=args.host,
        port=args.port,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=5,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()

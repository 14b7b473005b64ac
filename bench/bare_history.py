"""The bare history endpoint ours is measured against: FastAPI + asyncpg, nothing else.

    python bench/bare_history.py --port PORT --dsn postgresql://…

`GET /history/{chat_id}?limit=&offset=` reads the project's `messages` table with the
same index range ours uses (seq is gapless, so `offset k` is `seq > k`), each row's quote
the same way, and returns the same JSON ours does (a page with no reactions, as the
bench's chat has none: `reactions` is always empty here), with no token, no membership
check and no pydantic. uvicorn runs with the settings `python -m chat_server serve` uses.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

PAGE = """
SELECT page.*, quote.sender_id AS reply_sender_id, quote.text AS reply_text
FROM (SELECT id, chat_id, sender_id, seq, pts, text, created_at, edited_at, deleted_at,
             reply_to_seq, is_read, client_msg_id
      FROM messages WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS page
LEFT JOIN LATERAL (SELECT sender_id, left(text, 100) AS text FROM messages AS quoted
                   WHERE quoted.chat_id = page.chat_id AND quoted.seq = page.reply_to_seq
                   LIMIT 1) AS quote ON true
ORDER BY page.seq
"""


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def as_json(row: asyncpg.Record) -> dict[str, Any]:
    """The message as ours answers it (MessageOut), field for field."""
    reply_to = None
    if row["reply_to_seq"] is not None and row["reply_sender_id"] is not None:
        reply_to = {
            "seq": row["reply_to_seq"],
            "sender_id": row["reply_sender_id"],
            "text": row["reply_text"],
        }
    return {
        "id": row["id"],
        "chat_id": row["chat_id"],
        "sender_id": row["sender_id"],
        "seq": row["seq"],
        "pts": row["pts"],
        "text": row["text"],
        "created_at": _time(row["created_at"]),
        "edited_at": _time(row["edited_at"]),
        "deleted": row["deleted_at"] is not None,
        "reply_to": reply_to,
        "reactions": [],
        "is_read": row["is_read"],
        "client_msg_id": str(row["client_msg_id"]),
    }


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

"""Liveness and readiness probes."""

import asyncio
import logging
from typing import Any, Literal

import redis.asyncio as aioredis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.deps import RuntimeDep
from chat_server.faults import is_unavailable

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class StatusOut(BaseModel):
    status: Literal["ok", "unavailable"] = Field(
        description="`ok`, or `unavailable` when a dependency is down", examples=["ok"]
    )


class ReadyOut(StatusOut):
    database: Literal["ok", "unavailable"] = Field(
        description="`ok`: PostgreSQL answered within the readiness timeout", examples=["ok"]
    )
    redis: Literal["ok", "degraded", "unused"] = Field(
        description="`ok`: Redis answered; `degraded`: it did not, and this process still "
        "serves its own clients (rate limits per process, no fan-out to other processes: "
        "their clients catch up with `sync`), so readiness does not fail for it; "
        "`unused`: no REDIS_URL",
        examples=["ok"],
    )


@router.get("/health", summary="Liveness")
async def health() -> StatusOut:
    """The process is up. Does not touch the database."""
    return StatusOut(status="ok")


@router.get(
    "/ready",
    summary="Readiness",
    response_model=ReadyOut,
    responses={
        503: {
            "model": ReadyOut,
            "description": "The database is not reachable (or did not answer in time), or "
            "the process is shutting down",
            "content": {
                "application/json": {
                    "example": {"status": "unavailable", "database": "unavailable", "redis": "ok"}
                }
            },
        }
    },
)
async def ready(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """The database answers a query within READY_TIMEOUT_SECONDS (default 1 s). Redis
    is reported too, as `degraded` when it does not answer, without failing readiness:
    the process can still serve its own clients."""
    checks = {
        "database": asyncio.ensure_future(_database_answers(runtime.engine)),
        "redis": asyncio.ensure_future(_redis_answers(runtime.redis)),
    }
    # Waited for without being cancelled: cancelling a statement that a frozen database
    # never answers would wait for that database too. A check ends on its own, within
    # the statement or Redis timeout, and gives its connection back then.
    await asyncio.wait(checks.values(), timeout=runtime.settings.ready_timeout_seconds)
    for check in checks.values():
        check.add_done_callback(_forget)
    # A process shutting down is not ready, whatever its database says.
    draining = bool(getattr(getattr(request.app.state, "sio", None), "draining", False))
    database_ok = checks["database"].done() and checks["database"].result()
    ready_now = database_ok and not draining
    redis_state = checks["redis"].result() if checks["redis"].done() else "degraded"
    body = ReadyOut(
        status="ok" if ready_now else "unavailable",
        database="ok" if database_ok else "unavailable",
        redis=redis_state,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready_now else 503)


async def _database_answers(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return False
    return True


async def _redis_answers(client: "aioredis.Redis | None") -> Literal["ok", "degraded", "unused"]:
    if client is None:
        return "unused"
    try:
        await client.ping()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return "degraded"
    return "ok"


def _forget(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("a readiness check failed", exc_info=task.exception())

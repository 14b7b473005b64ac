"""Liveness and readiness probes."""

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chat_server.deps import RuntimeDep

router = APIRouter(tags=["health"])


class StatusOut(BaseModel):
    status: Literal["ok", "unavailable"] = Field(
        description="`ok`, or `unavailable` when a dependency is down", examples=["ok"]
    )


@router.get("/health", summary="Liveness")
async def health() -> StatusOut:
    """The process is up. Does not touch the database."""
    return StatusOut(status="ok")


@router.get(
    "/ready",
    summary="Readiness",
    response_model=StatusOut,
    responses={
        503: {
            "model": StatusOut,
            "description": "The database is not reachable",
            "content": {"application/json": {"example": {"status": "unavailable"}}},
        }
    },
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """The database answers a query."""
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})

"""The one place domain errors become HTTP responses."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError

from chat_server.errors import DomainError, RateLimited, Unauthorized
from chat_server.faults import (
    DEPENDENCY_ERRORS,
    UNAVAILABLE_MESSAGE,
    is_unavailable,
    log_unavailable,
)

logger = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong, for people")


def error_responses(
    *statuses: int, conflict: str = "conflict"
) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` for a route's possible errors, each with an example of what the
    server says (`conflict`: the route's own 409). 422 is left to FastAPI, which documents
    its real body (a list of validation errors)."""
    descriptions = {
        401: "Missing, malformed or expired token",
        403: "Not allowed for this user",
        404: "Not found, or not a member",
        409: "Conflict",
        422: "Invalid input",
        429: "Rate limited",
    }
    examples = {
        401: "invalid or expired token",
        403: "only the group's creator can rename it",
        404: "chat not found",
        409: conflict,
        429: "too many requests: at most 30 per 10 second allowed",
    }
    return {
        s: {
            "model": ErrorOut,
            "description": descriptions[s],
            "content": {"application/json": {"example": {"detail": examples[s]}}},
        }
        for s in statuses
        if s != 422
    }


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = "1"
    return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body without the `input` it would echo: a password sent back in a
    response, or a lone surrogate that cannot even be encoded as UTF-8."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"type": error["type"], "loc": list(error["loc"]), "msg": error["msg"]}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _dependency_error(request: Request, exc: Exception) -> JSONResponse:
    """A database or Redis that is down or too slow: 503, one log line, no traceback."""
    if not is_unavailable(exc):
        raise exc  # a bug: the 500 and its traceback
    log_unavailable(logger, exc)
    return JSONResponse(
        {"detail": UNAVAILABLE_MESSAGE}, status_code=503, headers={"Retry-After": "1"}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error in (*DEPENDENCY_ERRORS, DBAPIError):
        app.add_exception_handler(error, _dependency_error)

"""The one place domain errors become HTTP responses."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError

from chat_server.errors import DomainError, RateLimited, Unauthorized, ValidationFailed
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
    if isinstance(exc, ValidationFailed):
        # The one documented 422 body, whether pydantic or a service found the problem.
        detail = [{"type": "value_error", "loc": ["body"], "msg": exc.message}]
        return JSONResponse({"detail": detail}, status_code=422)
    return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)


NOT_JSON = "the request body is not valid JSON"


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body without the `input` it would echo: a password sent back in a
    response, or a lone surrogate that cannot even be encoded as UTF-8. A body that is
    not JSON at all is a 400."""
    assert isinstance(exc, RequestValidationError)
    if any(error["type"] == "json_invalid" for error in exc.errors()):
        return JSONResponse({"detail": NOT_JSON}, status_code=400)
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


UNAVAILABLE_RESPONSE = {
    "description": "The database is down or did not answer in time (`Retry-After: 1`)",
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorOut"},
            "example": {"detail": UNAVAILABLE_MESSAGE},
        }
    },
}


def _document_bad_json(app: FastAPI) -> None:
    """Every operation that takes a JSON body documents the 400 a body that is not JSON
    gets, and every one that may touch the database its 503."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                responses = operation["responses"]
                if path != "/health":
                    responses.setdefault("503", UNAVAILABLE_RESPONSE)
                body = operation.get("requestBody", {}).get("content", {})
                if "application/json" in body:
                    responses.setdefault(
                        "400",
                        {
                            "description": "The body is not valid JSON",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorOut"},
                                    "example": {"detail": NOT_JSON},
                                }
                            },
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _document_bad_json(app)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error in (*DEPENDENCY_ERRORS, DBAPIError):
        app.add_exception_handler(error, _dependency_error)

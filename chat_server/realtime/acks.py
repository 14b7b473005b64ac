"""The one place domain errors become Socket.IO error acks."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chat_server.errors import DomainError
from chat_server.faults import UNAVAILABLE_MESSAGE, is_unavailable, log_unavailable
from chat_server.realtime.schemas import ErrorAck, ErrorDetail

logger = logging.getLogger(__name__)

Payload = TypeVar("Payload", bound=BaseModel)
Ack = dict[str, Any]


def ack(answer: BaseModel) -> Ack:
    """An ack model (realtime/schemas.py) as the JSON the client receives."""
    return answer.model_dump(mode="json")


def error_ack(code: str, message: str) -> Ack:
    return ack(ErrorAck(error=ErrorDetail.model_validate({"code": code, "message": message})))


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


async def run_acked(
    model: type[Payload],
    args: tuple[Any, ...],
    action: Callable[[Payload], Awaitable[Ack]],
) -> Ack:
    """Validate the event's payload, run the action, and turn any failure into an error
    ack, so bad input never breaks the handler or the connection."""
    data = args[0] if args else None
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        return error_ack("validation_error", _describe(exc))
    try:
        return await action(payload)
    except DomainError as exc:
        return error_ack(exc.code, exc.message)
    except Exception as exc:
        if is_unavailable(exc):
            log_unavailable(logger, exc)
            return error_ack("unavailable", UNAVAILABLE_MESSAGE)
        logger.exception("socket event failed")
        return error_ack("internal", "internal error")

"""Message routes: send over HTTP, move the read watermark, page through history."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from chat_server.chats.router import ChatIdPath
from chat_server.db import BIGINT_MAX
from chat_server.deps import CurrentUser, RuntimeDep, SessionDep
from chat_server.errors import ValidationFailed
from chat_server.http_errors import error_responses
from chat_server.messages import service
from chat_server.messages.schemas import MessageOut, ReadIn, ReadOut, SendMessageIn

router = APIRouter(tags=["messages"])


@router.post(
    "/chats/{chat_id}/messages",
    summary="Send a message",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": MessageOut, "description": "Duplicate: the message sent before"},
        **error_responses(
            401,
            404,
            409,
            422,
            429,
            conflict="this client_msg_id was already used for a different message",
        ),
    },
)
async def send_message(
    chat_id: ChatIdPath,
    body: SendMessageIn,
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: Annotated[
        uuid.UUID | None,
        Header(description="A UUID for this message, reused on retries (or `client_msg_id`)"),
    ] = None,
) -> MessageOut:
    """Store and broadcast a message. Give a UUID as `Idempotency-Key` or `client_msg_id`
    and retries are safe: the same id returns the original message with 200; reusing it
    for a different chat or text is 409."""
    if idempotency_key and body.client_msg_id and idempotency_key != body.client_msg_id:
        raise ValidationFailed("Idempotency-Key and client_msg_id differ")
    result = await service.send_message(
        lanes=runtime.lanes,
        rate_limiter=runtime.rate_limiter,
        sender_id=user.id,
        chat_id=chat_id,
        text=body.text,
        client_msg_id=idempotency_key or body.client_msg_id or uuid.uuid4(),
    )
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result.message


@router.post(
    "/chats/{chat_id}/read",
    summary="Mark messages read",
    responses=error_responses(401, 404, 422),
)
async def mark_read(
    chat_id: ChatIdPath, body: ReadIn, user: CurrentUser, runtime: RuntimeDep
) -> ReadOut:
    """Move the caller's read watermark to `seq`: it never moves back and stops at the
    chat's last message. Returns the watermark now in force."""
    last_read_seq = await service.mark_read(
        lanes=runtime.lanes,
        user_id=user.id,
        chat_id=chat_id,
        seq=body.seq,
    )
    return ReadOut(chat_id=chat_id, last_read_seq=last_read_seq)


@router.get(
    "/history/{chat_id}",
    summary="Message history",
    responses=error_responses(401, 404, 422),
)
async def history(
    chat_id: ChatIdPath,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=service.MAX_PAGE, description="At most this many messages")
    ] = 50,
    offset: Annotated[
        int, Query(ge=0, le=BIGINT_MAX, description="Skip this many messages first")
    ] = 0,
    after_seq: Annotated[
        int | None, Query(ge=0, le=BIGINT_MAX, description="Only messages after it")
    ] = None,
    before_seq: Annotated[
        int | None,
        Query(ge=1, le=BIGINT_MAX, description="The page just before it (still ascending)"),
    ] = None,
) -> list[MessageOut]:
    """Messages ascending by send time. Page with `limit`/`offset`, or by keyset with
    `after_seq` (forward) and `before_seq` (older pages). `X-Total-Count` holds the
    number of messages in the chat."""
    page = await service.list_history(
        session=session,
        user_id=user.id,
        chat_id=chat_id,
        limit=limit,
        offset=offset,
        after_seq=after_seq,
        before_seq=before_seq,
    )
    response.headers["X-Total-Count"] = str(page.total)
    return page.messages

"""Message routes: send over HTTP, edit, delete, react, move the read watermark, page
through history and catch up on changes."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from chat_server.chats.router import ChatIdPath
from chat_server.db import BIGINT_MAX
from chat_server.deps import CurrentUser, CurrentUserId, RuntimeDep
from chat_server.errors import ValidationFailed
from chat_server.http_errors import error_responses
from chat_server.messages import history as pages
from chat_server.messages import lifecycle, reactions, service
from chat_server.messages.schemas import (
    EditMessageIn,
    MessageOut,
    ReactionIn,
    ReadIn,
    ReadOut,
    SendMessageIn,
)

router = APIRouter(tags=["messages"])
SeqPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The message's seq in the chat")]


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
    for a different chat, text or `reply_to_seq` is 409. `reply_to_seq` answers a message
    of the same chat (404 when there is none)."""
    if idempotency_key and body.client_msg_id and idempotency_key != body.client_msg_id:
        raise ValidationFailed("Idempotency-Key and client_msg_id differ")
    result = await service.send_message(
        lanes=runtime.lanes,
        rate_limiter=runtime.rate_limiter,
        sender_id=user.id,
        chat_id=chat_id,
        text=body.text,
        client_msg_id=idempotency_key or body.client_msg_id or uuid.uuid4(),
        reply_to_seq=body.reply_to_seq,
    )
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result.message


@router.patch(
    "/chats/{chat_id}/messages/{seq}",
    summary="Edit a message",
    responses=error_responses(401, 403, 404, 422, 429),
)
async def edit_message(
    chat_id: ChatIdPath, seq: SeqPath, body: EditMessageIn, user: CurrentUser, runtime: RuntimeDep
) -> MessageOut:
    """Replace the text of your own message (403 for anyone else's, 404 once deleted).
    Sets `edited_at`, takes a new `pts` and sends `message_updated` to the chat; the same
    text again changes nothing."""
    return await lifecycle.edit_message(
        lanes=runtime.lanes,
        rate_limiter=runtime.rate_limiter,
        user_id=user.id,
        chat_id=chat_id,
        seq=seq,
        text=body.text,
    )


@router.delete(
    "/chats/{chat_id}/messages/{seq}",
    summary="Delete a message for everyone",
    responses=error_responses(401, 403, 404, 422, 429),
)
async def delete_message(
    chat_id: ChatIdPath, seq: SeqPath, user: CurrentUser, runtime: RuntimeDep
) -> MessageOut:
    """Delete your message (or, as a group's creator, any message in the group) for
    everyone: it stays as a tombstone with its `id` and `seq`, `deleted: true` and no text,
    reply or reactions. Answers the tombstone; deleting it again changes nothing."""
    return await lifecycle.delete_message(
        lanes=runtime.lanes,
        rate_limiter=runtime.rate_limiter,
        user_id=user.id,
        chat_id=chat_id,
        seq=seq,
    )


@router.put(
    "/chats/{chat_id}/messages/{seq}/reaction",
    summary="React to a message",
    responses=error_responses(401, 404, 422, 429),
)
async def set_reaction(
    chat_id: ChatIdPath, seq: SeqPath, body: ReactionIn, user: CurrentUser, runtime: RuntimeDep
) -> MessageOut:
    """Set your one reaction on a message, replacing the one you had. `emoji` is one of
    👍 👎 ❤️ 🔥 😂 😮 😢 🎉 🙏 👀 (else 422); not on a deleted message (404)."""
    return await reactions.set_reaction(
        lanes=runtime.lanes,
        rate_limiter=runtime.rate_limiter,
        user_id=user.id,
        chat_id=chat_id,
        seq=seq,
        emoji=body.emoji,
    )


@router.delete(
    "/chats/{chat_id}/messages/{seq}/reaction",
    summary="Remove your reaction",
    responses=error_responses(401, 404, 422, 429),
)
async def remove_reaction(
    chat_id: ChatIdPath, seq: SeqPath, user: CurrentUser, runtime: RuntimeDep
) -> MessageOut:
    """Remove your reaction from a message (having none changes nothing)."""
    return await reactions.set_reaction(
        lanes=runtime.lanes,
        rate_limiter=runtime.rate_limiter,
        user_id=user.id,
        chat_id=chat_id,
        seq=seq,
        emoji=None,
    )


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
    # Documents the body the route sends as PostgreSQL wrote it (HistoryPage.json).
    response_model=list[MessageOut],
    responses=error_responses(401, 404, 422),
)
async def history(
    chat_id: ChatIdPath,
    user_id: CurrentUserId,
    runtime: RuntimeDep,
    limit: Annotated[
        int, Query(ge=1, le=pages.MAX_PAGE, description="At most this many messages")
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
    changed_after_pts: Annotated[
        int | None,
        Query(
            ge=0,
            le=BIGINT_MAX,
            description="Catch-up: every message changed after this pts, ascending by pts",
        ),
    ] = None,
) -> Response:
    """Messages ascending by send time. Page with `limit`/`offset`, or by keyset with
    `after_seq` (forward) and `before_seq` (older pages). `X-Total-Count` holds the
    number of messages in the chat (tombstones included).

    With `changed_after_pts` (alone, or with `limit`): every message whose latest change
    (send, edit, delete, reaction) is newer than that pts, each once in its current
    state, ascending by `pts`; ask again after the last one's `pts` for the next page."""
    if changed_after_pts is not None:
        if offset or after_seq is not None or before_seq is not None:
            raise ValidationFailed("changed_after_pts takes no offset, after_seq or before_seq")
        page = await pages.list_changes(
            engine=runtime.engine,
            user_id=user_id,
            chat_id=chat_id,
            after_pts=changed_after_pts,
            limit=limit,
        )
        return _page_response(page)
    page = await pages.list_history(
        engine=runtime.engine,
        user_id=user_id,
        chat_id=chat_id,
        limit=limit,
        offset=offset,
        after_seq=after_seq,
        before_seq=before_seq,
    )
    return _page_response(page)


def _page_response(page: pages.HistoryPage) -> Response:
    # The page's JSON as PostgreSQL wrote it: reading it into MessageOut objects only to
    # write the same JSON again was a sixth of the server's time (docs/benchmarks.md).
    return Response(
        page.json, media_type="application/json", headers={"X-Total-Count": str(page.total)}
    )

"""The search route."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from chat_server.db import BIGINT_MAX
from chat_server.deps import CurrentUser, SessionDep
from chat_server.http_errors import error_responses
from chat_server.search import service
from chat_server.search.schemas import (
    DEFAULT_RESULTS,
    MAX_QUERY_LENGTH,
    MAX_RESULTS,
    SearchHitOut,
)
from chat_server.text_rules import storable

router = APIRouter(tags=["search"])


@router.get(
    "/search/messages",
    summary="Search my messages",
    responses=error_responses(401, 404, 422),
)
async def search_messages(
    user: CurrentUser,
    session: SessionDep,
    q: Annotated[
        str,
        AfterValidator(storable),
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            pattern=r"\S",
            description="Words to find, each as a whole word or a word beginning, in any "
            "language; every word must match. Taken literally: quotes and operators are "
            "just characters.",
            examples=["thai lunch"],
        ),
    ],
    chat_id: Annotated[
        int | None,
        Query(ge=1, le=BIGINT_MAX, description="Only this chat (404 unless you are in it)"),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_RESULTS, description="At most this many hits")
    ] = DEFAULT_RESULTS,
    before_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=BIGINT_MAX,
            description="The next page: hits older than this message id (the last hit's id)",
        ),
    ] = None,
) -> list[SearchHitOut]:
    """Messages in the chats you are a member of now that contain every word of `q`,
    newest first. Deleted messages are never found. Page with `before_id` = the `id` of
    the last hit of the previous page."""
    return await service.search_messages(
        session=session, user_id=user.id, q=q, chat_id=chat_id, limit=limit, before_id=before_id
    )

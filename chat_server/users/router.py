"""User routes: who am I, find people."""

from typing import Annotated

from fastapi import APIRouter, Query

from chat_server.deps import CurrentUser, SessionDep
from chat_server.http_errors import error_responses
from chat_server.text_rules import StorableStr
from chat_server.users.schemas import UserOut
from chat_server.users.service import search_users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", summary="The current user", responses=error_responses(401))
async def me(user: CurrentUser) -> UserOut:
    """The account the bearer token belongs to."""
    return UserOut.model_validate(user)


@router.get("", summary="Find people to talk to", responses=error_responses(401, 422))
async def find_users(
    user: CurrentUser,
    session: SessionDep,
    query: Annotated[
        StorableStr, Query(max_length=100, description="Part of a name or email; empty: anyone")
    ] = "",
) -> list[UserOut]:
    """Other users whose name or email contains `query` (case-insensitive), at most 20."""
    users = await search_users(session=session, query=query, exclude_id=user.id)
    return [UserOut.model_validate(u) for u in users]

"""Chat routes: the chat list, private chats, a chat's details."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from chat_server.chats import service
from chat_server.chats.schemas import ChatOut, ChatSummaryOut, PrivateChatIn
from chat_server.db import BIGINT_MAX
from chat_server.deps import CurrentUser, RuntimeDep, SessionDep
from chat_server.http_errors import error_responses

router = APIRouter(prefix="/chats", tags=["chats"])

ChatIdPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The chat's id")]


@router.get("", summary="My chats", responses=error_responses(401))
async def list_chats(user: CurrentUser, session: SessionDep) -> list[ChatSummaryOut]:
    """Every chat the caller is in, most recently active first, with its last message
    and how many messages from others the caller has not read."""
    return await service.list_chats(session=session, user_id=user.id)


@router.post(
    "/private",
    summary="Open the private chat with a user",
    status_code=status.HTTP_200_OK,
    responses={
        201: {"model": ChatOut, "description": "Created"},
        **error_responses(401, 404, 422),
    },
)
async def open_private_chat(
    body: PrivateChatIn,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
) -> ChatOut:
    """The one private chat between the caller and `user_id`: 201 when this call created
    it, 200 when it already existed (also when both users ask at the same moment)."""
    chat, created = await service.get_or_create_private_chat(
        session=session,
        publisher=runtime.publisher,
        presence=runtime.presence,
        user_id=user.id,
        other_user_id=body.user_id,
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return chat


@router.get("/{chat_id}", summary="A chat with its members", responses=error_responses(401, 404))
async def get_chat(chat_id: ChatIdPath, user: CurrentUser, session: SessionDep) -> ChatOut:
    """The chat, its members and each member's `last_read_seq` (who has read what)."""
    return await service.get_chat(session=session, user_id=user.id, chat_id=chat_id)

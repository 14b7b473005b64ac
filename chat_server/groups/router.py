"""Group routes: create, view, rename, delete, members."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from chat_server.db import BIGINT_MAX
from chat_server.deps import CurrentUser, RuntimeDep, SessionDep
from chat_server.groups import service
from chat_server.groups.schemas import GroupCreate, GroupOut, GroupRename, MemberAdd
from chat_server.http_errors import error_responses

router = APIRouter(prefix="/groups", tags=["groups"])

GroupIdPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The group's id")]


@router.post(
    "",
    summary="Create a group",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 404, 422),
)
async def create_group(
    body: GroupCreate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> GroupOut:
    """A new group (and its chat) with the caller as creator and member, plus
    `member_ids`. Its `chat_id` is what messages and history use."""
    return await service.create_group(
        session=session,
        publisher=runtime.publisher,
        presence=runtime.presence,
        creator_id=user.id,
        name=body.name,
        member_ids=body.member_ids,
    )


@router.get("/{group_id}", summary="A group", responses=error_responses(401, 404))
async def get_group(group_id: GroupIdPath, user: CurrentUser, session: SessionDep) -> GroupOut:
    """The group with its members; members only."""
    return await service.get_group(session=session, user_id=user.id, group_id=group_id)


@router.patch(
    "/{group_id}", summary="Rename a group", responses=error_responses(401, 403, 404, 422)
)
async def rename_group(
    group_id: GroupIdPath,
    body: GroupRename,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
) -> GroupOut:
    """Rename the group (creator only)."""
    return await service.rename_group(
        session=session,
        publisher=runtime.publisher,
        user_id=user.id,
        group_id=group_id,
        name=body.name,
    )


@router.delete(
    "/{group_id}",
    summary="Delete a group",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
async def delete_group(
    group_id: GroupIdPath, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Delete the group, its chat and its messages (creator only)."""
    await service.delete_group(
        session=session, publisher=runtime.publisher, user_id=user.id, group_id=group_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{group_id}/members",
    summary="Add a member",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422, conflict="this user is already a member"),
)
async def add_member(
    group_id: GroupIdPath,
    body: MemberAdd,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
) -> GroupOut:
    """Add a user to the group (creator only). Connected sockets of that user start
    receiving the chat at once."""
    return await service.add_member(
        session=session,
        publisher=runtime.publisher,
        presence=runtime.presence,
        actor_id=user.id,
        group_id=group_id,
        user_id=body.user_id,
    )


@router.delete(
    "/{group_id}/members/{user_id}",
    summary="Remove a member, or leave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        401, 403, 404, 409, conflict="the creator cannot leave the group; delete it instead"
    ),
)
async def remove_member(
    group_id: GroupIdPath,
    user_id: Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The member's user id")],
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """The creator removes anyone else; any member removes themselves (leaves). The
    creator cannot leave (409): delete the group instead."""
    await service.remove_member(
        session=session,
        publisher=runtime.publisher,
        actor_id=user.id,
        group_id=group_id,
        user_id=user_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

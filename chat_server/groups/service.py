"""Groups: create, view, rename, delete, add and remove members, leave."""

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.access import access_chat, lock_chat
from chat_server.chats.models import GROUP, MEMBER, OWNER, Chat, ChatMember
from chat_server.chats.service import describe_chat, list_member_ids
from chat_server.errors import Conflict, Forbidden, NotFound
from chat_server.events import ChatDeleted, ChatJoined, ChatLeft, ChatUpdated, Publisher
from chat_server.groups.models import Group
from chat_server.groups.schemas import GroupOut
from chat_server.messages.read_status import flip_read
from chat_server.presence.introductions import introduce_chat_mates
from chat_server.presence.store import PresenceStore
from chat_server.users.models import User


async def create_group(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: PresenceStore,
    creator_id: int,
    name: str,
    member_ids: list[int],
) -> GroupOut:
    """A group and its chat; the creator is its owner and a member."""
    others = sorted(set(member_ids) - {creator_id})
    if others:
        found = set(
            (await session.execute(select(User.id).where(User.id.in_(others)))).scalars().all()
        )
        missing = sorted(set(others) - found)
        if missing:
            raise NotFound(f"no such users: {', '.join(map(str, missing))}")
    chat = Chat(type=GROUP, name=name)
    session.add(chat)
    await session.flush()
    group = Group(name=name, creator_id=creator_id, chat_id=chat.id)
    session.add(group)
    session.add(ChatMember(chat_id=chat.id, user_id=creator_id, role=OWNER))
    session.add_all(ChatMember(chat_id=chat.id, user_id=uid, role=MEMBER) for uid in others)
    await session.flush()
    out = await _group_out(session, group, chat)
    await session.commit()
    joiner_ids = [creator_id, *others]
    described = await describe_chat(session, chat)
    await publisher.publish(
        ChatJoined(
            chat_id=chat.id,
            user_ids=joiner_ids,
            chat=described.model_dump(mode="json"),
            announce_to_chat=False,
        )
    )
    await introduce_chat_mates(
        presence=presence, publisher=publisher, members=described.members, joiner_ids=joiner_ids
    )
    return out


async def _group_out(session: AsyncSession, group: Group, chat: Chat) -> GroupOut:
    described = await describe_chat(session, chat)
    return GroupOut(
        id=group.id,
        name=group.name,
        creator_id=group.creator_id,
        chat_id=group.chat_id,
        created_at=group.created_at,
        last_seq=chat.last_seq,
        members=described.members,
    )


async def _member_group(
    session: AsyncSession, *, user_id: int, group_id: int
) -> tuple[Group, Chat]:
    """The group and its chat, if the caller is a member; the same NotFound otherwise
    (also when the group is deleted meanwhile)."""
    row = (
        await session.execute(
            select(Group, Chat)
            .join(Chat, Chat.id == Group.chat_id)
            .where(Group.id == group_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("group not found")
    group, chat = row
    try:
        await access_chat(session, user_id=user_id, chat_id=chat.id)
    except NotFound:
        raise NotFound("group not found") from None
    return group, chat


async def _locked_group(
    session: AsyncSession, *, user_id: int, group_id: int
) -> tuple[Group, Chat]:
    """Like _member_group, with the chat row locked first: the order sends, reads and
    every other group change take their locks in, so two of them never deadlock. A
    change that waited for a delete finds the group gone (NotFound)."""
    chat_id = (
        await session.execute(select(Group.chat_id).where(Group.id == group_id))
    ).scalar_one_or_none()
    if chat_id is None or await lock_chat(session, chat_id) is None:
        raise NotFound("group not found")
    return await _member_group(session, user_id=user_id, group_id=group_id)


def _require_creator(group: Group, user_id: int, action: str) -> None:
    if group.creator_id != user_id:
        raise Forbidden(f"only the group's creator can {action}")


async def get_group(*, session: AsyncSession, user_id: int, group_id: int) -> GroupOut:
    group, chat = await _member_group(session, user_id=user_id, group_id=group_id)
    return await _group_out(session, group, chat)


async def rename_group(
    *, session: AsyncSession, publisher: Publisher, user_id: int, group_id: int, name: str
) -> GroupOut:
    group, chat = await _locked_group(session, user_id=user_id, group_id=group_id)
    _require_creator(group, user_id, "rename it")
    group.name = name
    chat.name = name
    await session.flush()
    # Described inside the transaction: what was committed, whatever comes next.
    out = await _group_out(session, group, chat)
    described = await describe_chat(session, chat)
    await session.commit()
    await publisher.publish(ChatUpdated(chat_id=chat.id, chat=described.model_dump(mode="json")))
    return out


async def delete_group(
    *, session: AsyncSession, publisher: Publisher, user_id: int, group_id: int
) -> None:
    """Delete the group, its chat and every message in it (creator only)."""
    group, chat = await _locked_group(session, user_id=user_id, group_id=group_id)
    _require_creator(group, user_id, "delete it")
    chat_id = chat.id
    members = await list_member_ids(session, chat_id)
    await session.execute(delete(Chat).where(Chat.id == chat_id))
    await session.commit()
    await publisher.publish(ChatDeleted(chat_id=chat_id, user_ids=members))


async def add_member(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: PresenceStore,
    actor_id: int,
    group_id: int,
    user_id: int,
) -> GroupOut:
    """Add a user (creator only). They start with everything so far counted as read,
    so they never hold back the read status of older messages."""
    group, chat = await _locked_group(session, user_id=actor_id, group_id=group_id)
    _require_creator(group, actor_id, "add members")
    if await session.get(User, user_id) is None:
        raise NotFound("user not found")
    added = (
        await session.execute(
            insert(ChatMember)
            .values(chat_id=chat.id, user_id=user_id, role=MEMBER, last_read_seq=chat.last_seq)
            .on_conflict_do_nothing()
            .returning(ChatMember.user_id)
        )
    ).scalar_one_or_none()
    if added is None:
        await session.rollback()
        raise Conflict("this user is already a member")
    out = await _group_out(session, group, chat)
    described = await describe_chat(session, chat)
    await session.commit()
    await publisher.publish(
        ChatJoined(chat_id=chat.id, user_ids=[user_id], chat=described.model_dump(mode="json"))
    )
    await introduce_chat_mates(
        presence=presence, publisher=publisher, members=described.members, joiner_ids=[user_id]
    )
    return out


async def remove_member(
    *, session: AsyncSession, publisher: Publisher, actor_id: int, group_id: int, user_id: int
) -> None:
    """Remove a member (creator) or leave (self). The creator cannot leave: they delete
    the group instead. Leaving can complete the read status of messages the leaver
    had not read; their senders are told."""
    group, chat = await _locked_group(session, user_id=actor_id, group_id=group_id)
    if actor_id != user_id:
        _require_creator(group, actor_id, "remove other members")
    elif group.creator_id == actor_id:
        raise Conflict("the creator cannot leave the group; delete it instead")
    leaver_read_up_to = (
        await session.execute(
            delete(ChatMember)
            .where(ChatMember.chat_id == chat.id, ChatMember.user_id == user_id)
            .returning(ChatMember.last_read_seq)
        )
    ).scalar_one_or_none()
    if leaver_read_up_to is None:
        await session.rollback()
        raise NotFound("this user is not a member")
    # Only what the leaver had not read can have been waiting for them.
    newly_read = await flip_read(
        await session.connection(), chat_id=chat.id, low=leaver_read_up_to, high=chat.last_seq
    )
    await session.commit()
    await publisher.publish(ChatLeft(chat_id=chat.id, user_id=user_id))
    for completed in newly_read:
        await publisher.publish(completed)

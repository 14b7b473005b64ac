"""Chats: private chats, the chat list and a chat's details (access: access.py)."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.chats.access import access_chat
from chat_server.chats.models import GROUP, MEMBER, PRIVATE, Chat, ChatMember
from chat_server.chats.schemas import ChatOut, ChatSummaryOut, MemberOut, PeerOut
from chat_server.errors import ValidationFailed
from chat_server.events import ChatJoined, Publisher
from chat_server.groups.models import Group
from chat_server.messages.models import Message
from chat_server.messages.schemas import MessageOut
from chat_server.messages.views import load_messages
from chat_server.presence.introductions import introduce_chat_mates
from chat_server.presence.store import PresenceStore
from chat_server.users.models import User
from chat_server.users.service import get_user


async def list_member_ids(session: AsyncSession, chat_id: int) -> list[int]:
    result = await session.execute(
        select(ChatMember.user_id).where(ChatMember.chat_id == chat_id).order_by(ChatMember.user_id)
    )
    return list(result.scalars().all())


async def contacts_last_seen(session: AsyncSession, user_id: int) -> dict[int, datetime | None]:
    """Everyone who shares a chat with the user, with when each was last seen (if ever)."""
    mine = select(ChatMember.chat_id).where(ChatMember.user_id == user_id)
    others = (
        select(ChatMember.user_id)
        .where(ChatMember.chat_id.in_(mine), ChatMember.user_id != user_id)
        .distinct()
    )
    result = await session.execute(
        select(User.id, User.last_seen_at).where(User.id.in_(others)).order_by(User.id)
    )
    return {contact_id: last_seen for contact_id, last_seen in result.all()}


async def chats_left_since(session: AsyncSession, user_id: int, chat_ids: list[int]) -> list[int]:
    """Those of `chat_ids` the user is no longer a member of."""
    still = set(await chat_ids_of_user(session, user_id))
    return [chat_id for chat_id in chat_ids if chat_id not in still]


async def chat_ids_of_user(session: AsyncSession, user_id: int) -> list[int]:
    result = await session.execute(select(ChatMember.chat_id).where(ChatMember.user_id == user_id))
    return list(result.scalars().all())


async def get_or_create_private_chat(
    *,
    session: AsyncSession,
    publisher: Publisher,
    presence: PresenceStore,
    user_id: int,
    other_user_id: int,
) -> tuple[ChatOut, bool]:
    """The one private chat between two users; `True` when this call created it.

    The UNIQUE (pair_low_id, pair_high_id) constraint makes parallel calls from both
    sides agree: the losers' INSERT does nothing and they read the winner's chat.
    """
    if other_user_id == user_id:
        raise ValidationFailed("a private chat needs another user")
    await get_user(session=session, user_id=other_user_id)
    low, high = sorted((user_id, other_user_id))
    chat_id = (
        await session.execute(
            insert(Chat)
            .values(type=PRIVATE, pair_low_id=low, pair_high_id=high)
            .on_conflict_do_nothing(index_elements=["pair_low_id", "pair_high_id"])
            .returning(Chat.id)
        )
    ).scalar_one_or_none()
    created = chat_id is not None
    if chat_id is None:
        await session.rollback()
        chat_id = (
            await session.execute(
                select(Chat.id).where(Chat.pair_low_id == low, Chat.pair_high_id == high)
            )
        ).scalar_one()
    else:
        await session.execute(
            insert(ChatMember).values(
                [
                    {"chat_id": chat_id, "user_id": low, "role": MEMBER},
                    {"chat_id": chat_id, "user_id": high, "role": MEMBER},
                ]
            )
        )
        await session.commit()
    chat = await get_chat(session=session, user_id=user_id, chat_id=chat_id)
    if created:
        # Each side sees the chat named after the other person.
        theirs = chat.model_copy(update={"name": _peer_name(chat, other_user_id)})
        await publisher.publish(
            ChatJoined(
                chat_id=chat_id,
                user_ids=[low, high],
                chat=chat.model_dump(mode="json"),
                announce_to_chat=False,
                chat_for={other_user_id: theirs.model_dump(mode="json")},
            )
        )
        await introduce_chat_mates(
            presence=presence, publisher=publisher, members=chat.members, joiner_ids=[low, high]
        )
    return chat, created


async def get_chat(*, session: AsyncSession, user_id: int, chat_id: int) -> ChatOut:
    """A chat the caller belongs to, with every member and their read watermark."""
    chat, _ = await access_chat(session, user_id=user_id, chat_id=chat_id)
    described = await describe_chat(session, chat)
    if chat.type == PRIVATE:
        return described.model_copy(update={"name": _peer_name(described, user_id)})
    return described


def _peer_name(chat: ChatOut, viewer_id: int) -> str | None:
    """A private chat is called after the other person, as in the chat list."""
    return next((m.name for m in chat.members if m.user_id != viewer_id), None)


async def describe_chat(session: AsyncSession, chat: Chat) -> ChatOut:
    """The chat as everyone in it sees it (a private chat has no name of its own)."""
    rows = await session.execute(
        select(ChatMember, User.name, User.last_seen_at)
        .join(User, User.id == ChatMember.user_id)
        .where(ChatMember.chat_id == chat.id)
        .order_by(ChatMember.joined_at, ChatMember.user_id)
    )
    members = [
        MemberOut(
            user_id=member.user_id,
            name=name,
            role=member.role,
            joined_at=member.joined_at,
            last_read_seq=member.last_read_seq,
            last_seen_at=last_seen_at,
        )
        for member, name, last_seen_at in rows.all()
    ]
    group_id = None
    if chat.type == GROUP:
        group_id = (
            await session.execute(select(Group.id).where(Group.chat_id == chat.id))
        ).scalar_one_or_none()
    return ChatOut(
        id=chat.id,
        type=chat.type,
        name=chat.name,
        group_id=group_id,
        created_at=chat.created_at,
        last_seq=chat.last_seq,
        members=members,
    )


async def list_chats(*, session: AsyncSession, user_id: int) -> list[ChatSummaryOut]:
    """The caller's chats, most recently active first, each with its last message and
    the number of other people's messages the caller has not read yet."""
    # One snapshot for every query below. Under READ COMMITTED a message committed between
    # them was counted unread past the last_seq the list reports, and a page that adds
    # the live messages after last_seq counted it twice.
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    memberships = (
        await session.execute(
            select(Chat, ChatMember.last_read_seq, Group.id)
            .join(ChatMember, ChatMember.chat_id == Chat.id)
            .outerjoin(Group, Group.chat_id == Chat.id)
            .where(ChatMember.user_id == user_id)
        )
    ).all()
    if not memberships:
        return []
    chat_ids = [chat.id for chat, _, _ in memberships]

    last_messages = await _last_messages(session, chat_ids)
    unread = await _unread_counts(session, user_id, chat_ids)
    peers = await _peers(session, user_id, [chat for chat, _, _ in memberships])

    summaries = []
    for chat, last_read_seq, group_id in memberships:
        peer = peers.get(chat.id)
        last = last_messages.get(chat.id)
        summaries.append(
            ChatSummaryOut(
                id=chat.id,
                type=chat.type,
                name=chat.name if chat.type == GROUP else (peer.name if peer else ""),
                group_id=group_id,
                peer=peer,
                created_at=chat.created_at,
                last_seq=chat.last_seq,
                last_read_seq=last_read_seq,
                unread_count=unread.get(chat.id, 0),
                last_message=last,
            )
        )
    summaries.sort(
        key=lambda s: (s.last_message.created_at if s.last_message else s.created_at, s.id),
        reverse=True,
    )
    return summaries


async def _last_messages(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, MessageOut]:
    """Each chat's newest message that is not a tombstone (walking back from the newest
    on the (chat_id, seq) index, one chat at a time)."""
    chats = select(Chat.id).where(Chat.id.in_(chat_ids)).subquery("listed")
    newest = (
        select(Message.id)
        .where(Message.chat_id == chats.c.id, Message.deleted_at.is_(None))
        .order_by(Message.seq.desc())
        .limit(1)
        .lateral("newest")
    )
    ids = list(
        (
            await session.execute(select(newest.c.id).select_from(chats.join(newest, true())))
        ).scalars()
    )
    return {message.chat_id: message for message in await load_messages(session, ids)}


async def _unread_counts(
    session: AsyncSession, user_id: int, chat_ids: Sequence[int]
) -> dict[int, int]:
    rows = await session.execute(
        select(Message.chat_id, func.count())
        .join(
            ChatMember,
            and_(ChatMember.chat_id == Message.chat_id, ChatMember.user_id == user_id),
        )
        .where(
            Message.chat_id.in_(chat_ids),
            Message.seq > ChatMember.last_read_seq,
            Message.sender_id != user_id,
            Message.deleted_at.is_(None),  # a deleted message stops counting
        )
        .group_by(Message.chat_id)
    )
    return {chat_id: count for chat_id, count in rows.all()}


async def _peers(session: AsyncSession, user_id: int, chats: Sequence[Chat]) -> dict[int, PeerOut]:
    other_by_chat = {
        chat.id: (chat.pair_high_id if chat.pair_low_id == user_id else chat.pair_low_id)
        for chat in chats
        if chat.type == PRIVATE
    }
    if not other_by_chat:
        return {}
    rows = await session.execute(
        select(User.id, User.name).where(User.id.in_(set(other_by_chat.values())))
    )
    names = dict(rows.all())
    return {
        chat_id: PeerOut(id=other, name=names[other])
        for chat_id, other in other_by_chat.items()
        if other is not None and other in names
    }

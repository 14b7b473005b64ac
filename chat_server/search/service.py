"""Search the caller's messages by words and word prefixes."""

from typing import Any

from sqlalchemy import BigInteger, Select, and_, any_, case, cast, select, text
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from chat_server.chats.access import access_chat
from chat_server.chats.models import GROUP, Chat, ChatMember
from chat_server.messages.models import Message
from chat_server.messages.views import messages_out, quoted_page
from chat_server.search.index import searchable_words
from chat_server.search.query import prefix_query, query_words
from chat_server.search.schemas import SearchHitOut
from chat_server.search.snippet import snippet
from chat_server.users.models import User


async def search_messages(
    *,
    session: AsyncSession,
    user_id: int,
    q: str,
    chat_id: int | None,
    limit: int,
    before_id: int | None,
) -> list[SearchHitOut]:
    """The caller's messages that contain every word of `q` (as a word or a word
    prefix), newest first; only chats they are a member of now, never tombstones.
    `chat_id` narrows it to one chat (NotFound unless a member)."""
    if chat_id is not None:
        await access_chat(session, user_id=user_id, chat_id=chat_id)
        chat_ids = [chat_id]
    else:
        chat_ids = await _member_chat_ids(session, user_id)
    words = await query_words(session, q)
    if not words or not chat_ids:
        return []  # only punctuation or emoji: nothing a word could match
    await session.execute(PLAN_FOR_THESE_WORDS)
    statement = search_statement(user_id, chat_ids, words, limit, before_id)
    rows = (await session.execute(statement)).all()
    messages = await messages_out(session, rows)
    return [
        SearchHitOut(
            **message.model_dump(),
            chat_name=row.chat_name or "",
            snippet=snippet(message.text or "", words),
        )
        for message, row in zip(messages, rows, strict=True)
    ]


# For this transaction only. Plan for these very words: whether a word is rare (look it
# up in the index) or common (walk the newest messages) decides the plan, and a prepared
# statement's generic plan, which PostgreSQL switches to after five runs, cannot know.
# No parallel workers: a parallel walk looks cheap to the planner as if the cores were
# idle, but a server's cores are busy with other requests (at a million messages, a
# mid-frequency prefix took 111 ms walking in parallel, 29 ms through the index).
PLAN_FOR_THESE_WORDS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)


async def _member_chat_ids(session: AsyncSession, user_id: int) -> list[int]:
    result = await session.execute(select(ChatMember.chat_id).where(ChatMember.user_id == user_id))
    return list(result.scalars().all())


def search_statement(
    user_id: int, chat_ids: list[int], words: list[str], limit: int, before_id: int | None
) -> Select[Any]:
    # The chats as a list (not a join with chat_members) make a cheap filter the planner
    # applies before matching words, whichever plan it picks.
    peer = aliased(User)
    peer_id = case((Chat.pair_low_id == user_id, Chat.pair_high_id), else_=Chat.pair_low_id)
    chat_name = case((Chat.type == GROUP, Chat.name), else_=peer.name).label("chat_name")
    conditions = [
        Message.chat_id == any_(cast(chat_ids, ARRAY(BigInteger))),
        searchable_words(Message.text).op("@@")(cast(prefix_query(words), TSQUERY)),
        Message.deleted_at.is_(None),
    ]
    if before_id is not None:
        conditions.append(Message.id < before_id)
    page = (
        select(*Message.__table__.c, chat_name)
        .join(Chat, Chat.id == Message.chat_id)
        .outerjoin(peer, and_(Chat.type != GROUP, peer.id == peer_id))
        .where(*conditions)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return quoted_page(page, descending=True, by="id")

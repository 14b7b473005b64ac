"""Users: registration, lookup, search."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.config import Settings
from chat_server.errors import Conflict, NotFound
from chat_server.security import hash_password
from chat_server.users.models import User

SEARCH_LIMIT = 20


async def register_user(
    *, session: AsyncSession, settings: Settings, name: str, email: str, password: str
) -> User:
    """Create a user; Conflict when the email is taken (in any letter case)."""
    hashed = await hash_password(settings, password)
    inserted = await session.execute(
        insert(User)
        .values(name=name, email=email.lower(), password=hashed)
        .on_conflict_do_nothing()
        .returning(User.id)
    )
    user_id = inserted.scalar_one_or_none()
    if user_id is None:
        await session.rollback()
        raise Conflict("this email is already registered")
    await session.commit()
    return await get_user(session=session, user_id=user_id)


async def get_user(*, session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


async def find_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def search_users(*, session: AsyncSession, query: str, exclude_id: int) -> Sequence[User]:
    """People to talk to: name or email containing `query` (case-insensitive)."""
    stmt = select(User).where(User.id != exclude_id).order_by(User.name, User.id)
    query = query.strip()
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.name.ilike(pattern), User.email.ilike(pattern)))
    result = await session.execute(stmt.limit(SEARCH_LIMIT))
    return result.scalars().all()


async def touch_last_seen(*, session: AsyncSession, user_id: int, at: datetime) -> None:
    """Move last_seen_at forward to `at` (a late report of an older departure never
    takes it back)."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(last_seen_at=func.greatest(func.coalesce(User.last_seen_at, at), at))
    )
    await session.commit()

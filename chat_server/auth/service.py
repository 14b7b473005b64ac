"""Authentication: check a password, issue a token, resolve a token to a user."""

from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.config import Settings
from chat_server.errors import NotFound, Unauthorized
from chat_server.rate_limit import RateLimiter
from chat_server.security import (
    create_access_token,
    hash_password,
    user_id_from_token,
    verify_password,
)
from chat_server.text_rules import storable
from chat_server.users.models import User
from chat_server.users.schemas import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from chat_server.users.service import find_user_by_email, get_user, register_user

_dummy_hashes: dict[tuple[int, int], str] = {}


async def _dummy_hash(settings: Settings) -> str:
    """A hash with the configured cost, verified when the email is unknown, so a wrong
    email takes as long as a wrong password and does not reveal who is registered."""
    key = (settings.password_hash_time_cost, settings.password_hash_memory_kib)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = await hash_password(settings, "not-a-real-password")
    return _dummy_hashes[key]


async def register(
    *,
    session: AsyncSession,
    settings: Settings,
    rate_limiter: RateLimiter,
    client_address: str,
    name: str,
    email: str,
    password: str,
) -> User:
    """A new account. Each costs an argon2 hash, so one address may only make so many."""
    await rate_limiter.check("register", client_address)
    return await register_user(
        session=session, settings=settings, name=name, email=email, password=password
    )


async def login(
    *,
    session: AsyncSession,
    settings: Settings,
    rate_limiter: RateLimiter,
    client_address: str,
    email: str,
    password: str,
) -> str:
    """An access token for the user; Unauthorized for any wrong email/password pair.

    Limited per email (guessing one account's password) and per client address (trying
    many accounts, each attempt an argon2 verify)."""
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        # No stored account is like it; refused before it costs a hash or a limiter key.
        raise Unauthorized("wrong email or password")
    await rate_limiter.check("login_address", client_address)
    await rate_limiter.check("login", email.lower())
    try:
        storable(email)
        storable(password)
    except ValueError:
        raise Unauthorized("wrong email or password") from None  # no stored one is like it
    user = await find_user_by_email(session=session, email=email)
    hashed = user.password if user is not None else await _dummy_hash(settings)
    if not await verify_password(settings, password, hashed) or user is None:
        raise Unauthorized("wrong email or password")
    return create_access_token(settings, user.id)


async def authenticate(*, session: AsyncSession, settings: Settings, token: str) -> User:
    """The user a token belongs to; Unauthorized if the token or the user is gone."""
    user_id = user_id_from_token(settings, token)
    try:
        return await get_user(session=session, user_id=user_id)
    except NotFound as exc:
        raise Unauthorized("unknown user") from exc

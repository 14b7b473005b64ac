"""Password hashing (argon2 via passlib) and JWT access tokens (python-jose, HS256 pinned)."""

import asyncio
import contextlib
import os
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from jose import JWTError, jwt
from passlib.context import CryptContext

from chat_server.config import MIN_SECRET_LENGTH, ConfigurationError, Settings
from chat_server.errors import Unauthorized

JWT_ALGORITHM = "HS256"


@lru_cache
def _password_context(time_cost: int, memory_kib: int) -> CryptContext:
    return CryptContext(
        schemes=["argon2"],
        argon2__time_cost=time_cost,
        argon2__memory_cost=memory_kib,
        argon2__parallelism=1,
    )


def _context(settings: Settings) -> CryptContext:
    return _password_context(settings.password_hash_time_cost, settings.password_hash_memory_kib)


async def hash_password(settings: Settings, password: str) -> str:
    # Argon2 is slow on purpose; keep it off the event loop.
    hashed: str = await asyncio.to_thread(_context(settings).hash, password)
    return hashed


async def verify_password(settings: Settings, password: str, hashed: str) -> bool:
    ok: bool = await asyncio.to_thread(_context(settings).verify, password, hashed)
    return ok


def jwt_secret(settings: Settings) -> str:
    """JWT_SECRET, or a random secret generated once and kept in DATA_DIR (local runs)."""
    if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value():
        return settings.jwt_secret.get_secret_value()
    return _stored_secret(settings.data_dir.resolve() / "jwt_secret")


@lru_cache
def _stored_secret(path: Path) -> str:
    if not path.exists():
        _create_secret_file(path)
    secret = path.read_text().strip()
    for _ in range(10):  # another process may be writing it this moment
        if len(secret) >= MIN_SECRET_LENGTH:
            break
        time.sleep(0.1)
        secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{path} holds no usable JWT secret (under {MIN_SECRET_LENGTH} characters);"
            " delete it to have a new one generated, or set JWT_SECRET"
        )
    return secret


def _create_secret_file(path: Path) -> None:
    """Write a new secret where no reader can see the file half-written, and where of two
    processes starting at once exactly one secret wins (os.link never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".jwt_secret.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won: use theirs
        except OSError:
            # No hard links on this filesystem: exclusive creation still has one winner,
            # though a reader may briefly find it empty (_stored_secret waits for it).
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                with os.fdopen(fd, "w") as file:
                    file.write(Path(draft).read_text())
                    file.flush()
                    os.fsync(file.fileno())
    finally:
        os.unlink(draft)


def create_access_token(settings: Settings, user_id: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.jwt_expire_minutes)).timestamp()),
    }
    token: str = jwt.encode(claims, jwt_secret(settings), algorithm=JWT_ALGORITHM)
    return token


# Tokens whose signature and claims were checked: (secret, token) -> (user id, exp).
# A client sends the same token with every request; checking its signature every time
# was a fifth of a history page's Python time (5 % of the server's samples under load,
# docs/benchmarks.md). Only a token that passed jwt.decode enters, under the secret it
# was checked with; its expiry is checked on every use, and once past it the token goes
# through jwt.decode again (which refuses it).
VERIFIED_TOKENS_KEPT = 4096
_verified: dict[tuple[str, str], tuple[int, int]] = {}


def user_id_from_token(settings: Settings, token: str) -> int:
    """The token's user id; Unauthorized if it is malformed, forged or expired."""
    key = (jwt_secret(settings), token)
    known = _verified.get(key)
    if known is not None and time.time() < known[1]:
        return known[0]
    user_id, expires = _verify(key[0], token)
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        _verified.pop(next(iter(_verified)))  # the oldest entry
    _verified[key] = (user_id, expires)
    return user_id


def _verify(secret: str, token: str) -> tuple[int, int]:
    """The user id and exp of a token signed with `secret`, checked in full."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require_exp": True, "require_sub": True},
        )
        return int(claims["sub"]), int(claims["exp"])
    except (JWTError, KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("invalid or expired token") from exc

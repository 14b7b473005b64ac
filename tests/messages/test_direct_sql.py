"""direct_sql: statements compiled once and run on the pooled asyncpg connection. The
pipeline's and history's behaviour is tested through the API; these are its own rules."""

import pytest
from sqlalchemy import BigInteger, bindparam, select

from chat_server import direct_sql
from chat_server.db import make_engine
from chat_server.direct_sql import direct_connection, direct_transaction
from chat_server.users.models import User

_BY_ID = select(User.id).where(User.id == bindparam("user", type_=BigInteger))


async def test_a_missing_parameter_is_an_error_naming_it(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with direct_connection(engine) as conn:
            with pytest.raises(KeyError, match="user"):
                await conn.execute(_BY_ID, {})
            assert (await conn.execute(_BY_ID, {"user": -1})).one_or_none() is None
    finally:
        await engine.dispose()


async def test_a_statement_built_per_call_fails_loudly(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each statement is compiled and kept for good: one built on every call would grow
    the cache without end, so past the limit a new statement is refused."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with direct_connection(engine) as conn:
            await conn.execute(_BY_ID, {"user": 1})  # compiled before the limit
            monkeypatch.setattr(direct_sql, "MAX_STATEMENTS", len(direct_sql._compiled))
            built_now = select(User.id).where(User.id == bindparam("user", type_=BigInteger))
            with pytest.raises(RuntimeError, match="built once"):
                await conn.execute(built_now, {"user": 1})
            await conn.execute(_BY_ID, {"user": 1})  # a known one still runs
    finally:
        await engine.dispose()


async def test_a_transaction_that_raises_is_rolled_back_and_its_connection_reused(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with pytest.raises(ZeroDivisionError):
            async with direct_transaction(engine) as conn:
                await conn.execute(_BY_ID, {"user": 1})
                1 / 0  # noqa: B018
        # The pool's one connection came back out of the transaction.
        async with direct_transaction(engine) as conn:
            assert (await conn.execute(_BY_ID, {"user": -1})).scalar() is None
    finally:
        await engine.dispose()

"""direct_sql: statements compiled once and run on the pooled asyncpg connection. The
pipeline's and history's behaviour is tested through the API; these are its own rules."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import BigInteger, Text, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from chat_server import direct_sql
from chat_server.chats.models import Chat
from chat_server.db import make_engine
from chat_server.direct_sql import (
    FirstStep,
    ServerFunction,
    direct_connection,
    direct_transaction,
    sql_and_arguments,
)
from chat_server.users.models import User
from tests.support.db import plain_dsn, wait_until_waiting_for_a_lock

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


_FOUND = bindparam("found", type_=ARRAY(BigInteger))


@pytest.fixture
def own_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Functions made by a test stay the test's: no pooled connection installs them."""
    monkeypatch.setattr(direct_sql, "_functions", dict(direct_sql._functions))
    monkeypatch.setattr(direct_sql, "_compiled", dict(direct_sql._compiled))


async def _call(conn: asyncpg.Connection, function: ServerFunction, **params: object) -> list:
    sql, arguments = sql_and_arguments(function, params)
    return list(await conn.fetch(sql, *arguments))


async def _users(conn: asyncpg.Connection, *names: str) -> None:
    await conn.executemany(
        "INSERT INTO users (id, name, email, password) VALUES ($1, $2, $3, 'x')",
        [(n, name, f"{name}@test.invalid") for n, name in enumerate(names, start=1)],
    )


async def test_a_first_step_hands_its_value_to_the_statement_and_a_null_skips_it(
    database_url: str, own_functions: None
) -> None:
    """One call, two statements: the step's value is the statement's `found`; the
    parameters both use are one. Without a value the statement does not run at all."""
    also = bindparam("also", type_=BigInteger)
    rename = ServerFunction(
        "test_rename_found",
        update(User)
        .where(or_(User.id == any_(_FOUND), User.id == also))
        .values(name=bindparam("new_name", type_=Text))
        .returning(User.id, User.name),
        first=FirstStep(
            "found",
            select(func.array_agg(User.id)).where(
                User.id == any_(bindparam("wanted", type_=ARRAY(BigInteger))), User.id != also
            ),
        ),
    )
    assert rename.parameters() == ["wanted", "also", "new_name"]
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await _users(conn, "ann", "bob", "cy")
        await rename.install(conn)
        renamed = await _call(conn, rename, wanted=[1, 2], also=3, new_name="x")
        assert sorted((r["id"], r["name"]) for r in renamed) == [(1, "x"), (2, "x"), (3, "x")]
        # Nobody wanted: the step is NULL, and user 3 (`also`) is not renamed either.
        assert await _call(conn, rename, wanted=[99], also=3, new_name="y") == []
        names = await conn.fetch("SELECT id, name FROM users ORDER BY id")
        assert [(r["id"], r["name"]) for r in names] == [(1, "x"), (2, "x"), (3, "x")]
    finally:
        await conn.close()


async def test_values_fixed_in_the_two_statements_stay_their_own(
    database_url: str, own_functions: None
) -> None:
    """SQLAlchemy names a statement's fixed values (a LIMIT) `param_1`, ... anew in each
    statement: the step's LIMIT 1 and the statement's LIMIT 2 are two parameters."""
    first_user = select(User.id).order_by(User.id).limit(1).subquery("first_user")
    after_first = ServerFunction(
        "test_after_first",
        select(User.id).where(User.id != any_(_FOUND)).order_by(User.id).limit(2),
        first=FirstStep("found", select(func.array_agg(first_user.c.id))),
    )
    assert len(after_first.parameters()) == 2
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await _users(conn, "ann", "bob", "cy", "dee")
        await after_first.install(conn)
        assert [r["id"] for r in await _call(conn, after_first)] == [2, 3]
    finally:
        await conn.close()


async def test_the_statement_sees_what_committed_while_the_first_step_waited(
    database_url: str, own_functions: None
) -> None:
    """The step and the statement are statements of their own, each with its own
    snapshot: a step that waits for a row lock is followed by a statement that sees what
    the lock's holder committed (the send path's membership and duplicate checks rely
    on it, see chats/access.py)."""
    chat = bindparam("chat", type_=BigInteger)
    locked = select(Chat.id).where(Chat.id == chat).with_for_update().subquery("locked")
    count_after_lock = ServerFunction(
        "test_count_after_lock",
        select(func.count().label("users")).select_from(User).where(func.cardinality(_FOUND) == 1),
        first=FirstStep("found", select(func.array_agg(locked.c.id))),
    )
    conn = await asyncpg.connect(plain_dsn(database_url))
    rival = await asyncpg.connect(plain_dsn(database_url))
    try:
        await _users(conn, "ann")
        chat_id = await conn.fetchval("INSERT INTO chats (type) VALUES ('group') RETURNING id")
        await count_after_lock.install(conn)
        holding = rival.transaction()
        await holding.start()
        await rival.execute("SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", chat_id)
        await rival.execute(
            "INSERT INTO users (id, name, email, password) VALUES (2, 'bob', 'b@test.invalid', 'x')"
        )
        counting = asyncio.create_task(_call(conn, count_after_lock, chat=chat_id))
        await wait_until_waiting_for_a_lock(database_url, "%test_count_after_lock%")
        assert not counting.done()
        await holding.commit()
        [row] = await asyncio.wait_for(counting, 10)
        assert row["users"] == 2  # bob, committed while the step waited
    finally:
        await conn.close()
        await rival.close()


class _CountedConnection:
    """A real asyncpg connection whose round trips are counted by kind."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        method = getattr(self.connection, name)
        if name not in ("execute", "fetch", "prepare"):
            return method

        async def counted(*args: object, **kwargs: object) -> object:
            self.calls.append(name)
            return await method(*args, **kwargs)

        return counted


async def test_a_later_connection_gets_every_function_in_one_round_trip(
    database_url: str,
) -> None:
    """The definitions are worked out once (a prepare and type lookups per statement) and
    every later connection creates all the functions with one script."""
    first = await asyncpg.connect(plain_dsn(database_url))
    later = _CountedConnection(await asyncpg.connect(plain_dsn(database_url)))
    try:
        await direct_sql._install_missing(first, set())
        installed: set[str] = set()
        await direct_sql._install_missing(later, installed)  # type: ignore[arg-type]
        assert later.calls == ["execute"]
        assert installed == set(direct_sql._functions)
        in_temp_schema = await later.connection.fetch(
            "SELECT proname FROM pg_proc WHERE pronamespace = pg_my_temp_schema()"
        )
        assert {row["proname"] for row in in_temp_schema} == set(direct_sql._functions)
    finally:
        await first.close()
        await later.connection.close()


async def test_warm_up_leaves_a_pooled_connection_with_every_function(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        await direct_sql.warm_up(engine)
        async with engine.connect() as pooled:
            raw = await pooled.get_raw_connection()
            assert raw.info[direct_sql._INSTALLED] == set(direct_sql._functions)
            in_temp_schema = await raw.driver_connection.fetch(
                "SELECT proname FROM pg_proc WHERE pronamespace = pg_my_temp_schema()"
            )
            assert {row["proname"] for row in in_temp_schema} == set(direct_sql._functions)
    finally:
        await engine.dispose()


async def test_warm_up_without_a_database_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A server may start before its database: the first request installs instead."""
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    engine = make_engine(unreachable, pool_size=1)
    try:
        await direct_sql.warm_up(engine)
    finally:
        await engine.dispose()
    assert "could not prepare a database connection" in caplog.text

"""The hot path's statements (the message pipeline's, history pages), run straight on
the asyncpg connection of a pooled SQLAlchemy connection.

The statements are still SQLAlchemy Core built from the models; each is compiled once,
for asyncpg, and from then on only its parameters go over. SQLAlchemy's execution layer
(a connection object, a greenlet hop, the cache key and result processing per
statement, the transaction's bookkeeping) cost about 0.9 ms of CPU per four-statement
transaction, as much again as asyncpg itself (bench/send_path.py, one send per
transaction: 1.40 ms of CPU before, 0.62 ms now, raw asyncpg 0.48 ms): on a send path
whose lanes seldom batch, that was most of the server's time.

Only statements built once (module-level constants) may run here: each is compiled and
kept for good. Types the asyncpg driver takes and returns as they are (integers, text,
UUIDs, timestamps, arrays of those) are all they use, so no SQLAlchemy type processing
is skipped.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# More than the pipeline has: reaching it means a statement is being built per call.
MAX_STATEMENTS = 64
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Row(asyncpg.Record):  # type: ignore[misc]
    """A result row whose columns read as attributes too, like SQLAlchemy's rows."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Rows(list[Row]):
    """A statement's rows, read the way SQLAlchemy's results are."""

    def all(self) -> list[Row]:
        return list(self)

    def one(self) -> Row:
        if len(self) != 1:
            raise LookupError(f"expected one row, got {len(self)}")
        return self[0]

    def one_or_none(self) -> Row | None:
        if len(self) > 1:
            raise LookupError(f"expected at most one row, got {len(self)}")
        return self[0] if self else None

    def scalar(self) -> Any:
        """The first column of the first row; None without rows."""
        return self[0][0] if self else None


class _Compiled:
    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())
        # Values fixed in the statement (a LIMIT, an array slice) travel as parameters.
        self.fixed = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and name in self.names
        }

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        try:
            return [params[n] if n in params else self.fixed[n] for n in self.names]
        except KeyError as missing:
            raise KeyError(f"no value for the parameter {missing} of {self.sql!r}") from None


_compiled: dict[int, tuple[ClauseElement, _Compiled]] = {}


def _compile(statement: ClauseElement) -> _Compiled:
    # Keyed by identity; the statement is kept, so its id cannot be reused.
    found = _compiled.get(id(statement))
    if found is None:
        if len(_compiled) >= MAX_STATEMENTS:
            raise RuntimeError("direct_sql runs only statements built once, at import")
        found = _compiled[id(statement)] = (statement, _Compiled(statement))
    return found[1]


def sql_and_arguments(statement: ClauseElement, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """What DirectConnection.execute sends for `statement` (to EXPLAIN it, say)."""
    compiled = _compile(statement)
    return compiled.sql, compiled.arguments(params)


class DirectConnection:
    """One asyncpg connection, taken from the engine's pool (direct_transaction)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(
        self, statement: ClauseElement, params: Mapping[str, Any] | None = None
    ) -> Rows:
        compiled = _compile(statement)
        rows = await self._connection.fetch(
            compiled.sql, *compiled.arguments(params or {}), record_class=Row
        )
        return Rows(rows)


@asynccontextmanager
async def _pooled(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """One of the engine's pooled connections, as asyncpg's. The pool's limits and
    timeouts apply as to any checkout; a connection found closed is dropped from it."""
    async with engine.connect() as pooled:
        raw = (await pooled.get_raw_connection()).driver_connection
        assert isinstance(raw, asyncpg.Connection)
        try:
            yield raw
        except BaseException:
            if raw.is_closed():
                await pooled.invalidate()
            raise


@asynccontextmanager
async def direct_connection(engine: AsyncEngine) -> AsyncIterator[DirectConnection]:
    """A pooled connection outside any transaction: each statement commits on its own
    (a single statement that only reads needs no more)."""
    async with _pooled(engine) as raw:
        yield DirectConnection(raw)


@asynccontextmanager
async def direct_transaction(engine: AsyncEngine) -> AsyncIterator[DirectConnection]:
    """A transaction on a pooled connection: committed when the block ends, rolled back
    when it raises."""
    async with _pooled(engine) as raw, raw.transaction():
        yield DirectConnection(raw)

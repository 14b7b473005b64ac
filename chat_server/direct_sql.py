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
kept for good. A statement wrapped in ServerFunction runs as a function of the
connection's own, planned once per connection (see there). Types the asyncpg driver
takes and returns as they are (integers, text, UUIDs, timestamps, arrays of those) are
all they use, so no SQLAlchemy type processing is skipped.
"""

import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# More than the pipeline has: reaching it means a statement is being built per call.
MAX_STATEMENTS = 64
# Each ServerFunction's own settings (see there), not the session's.
PLAN_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off", "jit": "off"}
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class FirstStep:
    """A statement a ServerFunction runs before its own, as a statement of its own: the
    function's statement takes a new snapshot after it, so it sees what committed while
    the step ran (a row lock it waited for, say; see chats/access.py).
    Its one value is kept in a variable that the function's statement takes as its
    parameter named `variable`; when it is NULL the function returns no rows and its
    statement does not run. A step saves the round trip of a statement run alone."""

    variable: str
    statement: ClauseElement  # one row of one column (or none: NULL)


class ServerFunction:
    """A statement run as a PL/pgSQL function in the connection's own temporary schema
    (`pg_temp`), so that PostgreSQL plans it once per connection.

    A prepared statement is planned again on every call ("custom plans") unless
    PostgreSQL judges a generic plan no dearer, which for the send statement (a dozen
    CTEs over arrays) it never does: planning took about 1.2 ms of its CPU per call,
    more than running it (bench/send_path.py). The function's own
    `SET plan_cache_mode = force_generic_plan` applies to this statement alone; set for
    the session, it would change every other query's plans (search needs custom ones).
    Each statement so run has a test that its generic plan reads through indexes.

    The plan is made on the connection's first call and kept for its life, so it must
    not follow the table sizes of that moment: on a new server the tables are empty and
    never analysed, and PostgreSQL would rather read `messages` whole than through an
    index, for as long as the connection lives or until autovacuum's first ANALYZE
    (a benchmark's first round ran at two thirds of the speed of the next). With
    `enable_seqscan = off`, on these functions only, their plans read through indexes
    whatever the statistics say: every table they read has an index for it. And
    `jit = off`: a generic plan's row estimates are guesses, and once its cost passed
    `jit_above_cost` PostgreSQL compiled the plan on every call (15 to 250 ms for a
    page that takes half a millisecond to read).

    Temporary, so nothing is added to the schema or its migrations: each pooled
    connection creates the functions it lacks when it is first taken, and they go with
    the connection. Argument and column types are PostgreSQL's own reading of the
    statement, asked once per process (a prepare and two type lookups per statement,
    about 45 ms in all on the first connection, which `warm_up` takes at start-up);
    every later connection gets the same definitions in one round trip.
    """

    def __init__(
        self, name: str, statement: ClauseElement, *, first: FirstStep | None = None
    ) -> None:
        if name in _functions:
            raise ValueError(f"a server function named {name!r} exists already")
        self.name = name
        self.statement = statement
        self.first = first
        self._definition: str | None = None
        _functions[name] = self

    def parameters(self) -> list[str]:
        """The function's parameters by name, in order: the first step's, then the rest
        of the statement's (the variable is not one). A parameter both statements name
        is one; a value fixed in a statement (SQLAlchemy names those `param_1`, ... in
        each statement anew) is that statement's own."""
        names: list[str] = []
        for index, part in enumerate(self.parts()):
            names += [n for n in self._own_names(index, part) if n not in names]
        if self.first is not None:
            names.remove(self.first.variable)
        return names

    def parts(self) -> list[ClauseElement]:
        """The statements of its body, in the order they run."""
        return [self.statement] if self.first is None else [self.first.statement, self.statement]

    def fixed(self) -> dict[str, Any]:
        """The values fixed in its statements, by parameter name (see parameters)."""
        fixed: dict[str, Any] = {}
        for index, part in enumerate(self.parts()):
            compiled = _compile(part)
            own = dict(zip(compiled.names, self._own_names(index, part), strict=True))
            fixed |= {own[name]: value for name, value in compiled.fixed.items()}
        return fixed

    def _own_names(self, index: int, part: ClauseElement) -> list[str]:
        compiled = _compile(part)
        if self.first is None:
            return list(compiled.names)
        return [f"{index}.{n}" if n in compiled.fixed else n for n in compiled.names]

    async def install(self, connection: asyncpg.Connection) -> None:
        """Create the function on `connection` (outside any transaction)."""
        await connection.execute(await self.definition(connection))

    async def definition(self, connection: asyncpg.Connection) -> str:
        """The function's CREATE statement, worked out on the first connection that asks
        (the types are the schema's, the same on every connection) and kept."""
        if self._definition is None:
            self._definition = await self._define(connection)
        return self._definition

    async def _define(self, connection: asyncpg.Connection) -> str:
        parameters = self.parameters()
        types: dict[str, str] = {}
        columns: list[tuple[str, str]] = []
        for index, part in enumerate(self.parts()):
            prepared = await connection.prepare(_compile(part).sql)
            oids = [t.oid for t in prepared.get_parameters()]
            type_names = await _type_names(connection, oids)
            for name, type_name in zip(self._own_names(index, part), type_names, strict=True):
                if types.setdefault(name, type_name) != type_name:
                    raise TypeError(f"{self.name}: ${name} is {types[name]} and {type_name}")
            attributes = prepared.get_attributes()
            names = await _type_names(connection, [a.type.oid for a in attributes])
            columns = [(a.name, n) for a, n in zip(attributes, names, strict=True)]
        returns = ", ".join(f'"{name}" {type_name}' for name, type_name in columns)
        body = f"RETURN QUERY {self._numbered(len(self.parts()) - 1)};"
        declare = ""
        if self.first is not None:
            variable = _variable(self.first.variable)
            declare = f"DECLARE {variable} {types[self.first.variable]};\n"
            body = (
                f"{variable} := ({self._numbered(0)});\n"
                f"IF {variable} IS NULL THEN RETURN; END IF;\n{body}"
            )
        assert "$function$" not in body
        # use_column: the RETURNS TABLE names are variables too, and every unqualified
        # name in the statement means a column (parameters are $1, $2, ...).
        return (
            f"CREATE OR REPLACE FUNCTION pg_temp.{self.name}"
            f"({', '.join(types[name] for name in parameters)})"
            f" RETURNS TABLE ({returns}) LANGUAGE plpgsql VOLATILE"
            + "".join(f" SET {name} = {value}" for name, value in PLAN_SETTINGS.items())
            + " AS $function$"
            f"\n#variable_conflict use_column\n{declare}BEGIN\n{body}\nEND\n$function$"
        )

    def _numbered(self, index: int) -> str:
        """The SQL of the part at `index`, its placeholders numbered as the function's
        parameters, and the first step's variable by its name."""
        part = self.parts()[index]
        compiled = _compile(part)
        own = self._own_names(index, part)
        parameters = self.parameters()

        def renumbered(placeholder: re.Match[str]) -> str:
            name = own[int(placeholder[1]) - 1]
            if self.first is not None and name == self.first.variable:
                return _variable(name)
            return f"${parameters.index(name) + 1}"

        sql, count = _PLACEHOLDER.subn(renumbered, compiled.sql)
        assert count == compiled.sql.count("$"), "a $ that is not a placeholder"
        return sql


_PLACEHOLDER = re.compile(r"\$(\d+)")


def _variable(name: str) -> str:
    # A name no column has: with use_column, a column of the same name would win.
    return f"step_{name}"


_functions: dict[str, ServerFunction] = {}
_INSTALLED = "direct_sql.server_functions"  # key of the pool's per-connection info


async def _type_names(connection: asyncpg.Connection, oids: Sequence[int]) -> list[str]:
    rows = await connection.fetch(
        "SELECT format_type(oid, NULL) FROM unnest($1::oid[]) WITH ORDINALITY AS t(oid, n)"
        " ORDER BY n",
        list(oids),
    )
    return [row[0] for row in rows]


class _Compiled:
    def __init__(self, statement: ClauseElement | ServerFunction) -> None:
        self.fixed: dict[str, Any] = {}
        if isinstance(statement, ServerFunction):
            self.names = tuple(statement.parameters())
            placeholders = ", ".join(f"${n}" for n in range(1, len(self.names) + 1))
            self.sql = f"SELECT * FROM pg_temp.{statement.name}({placeholders})"
            self.fixed = statement.fixed()
            return
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


Statement = ClauseElement | ServerFunction
_compiled: dict[int, tuple[Statement, _Compiled]] = {}


def _compile(statement: Statement) -> _Compiled:
    # Keyed by identity; the statement is kept, so its id cannot be reused.
    found = _compiled.get(id(statement))
    if found is None:
        if len(_compiled) >= MAX_STATEMENTS:
            raise RuntimeError("direct_sql runs only statements built once, at import")
        found = _compiled[id(statement)] = (statement, _Compiled(statement))
    return found[1]


def sql_and_arguments(statement: Statement, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """What DirectConnection.execute sends for `statement` (to EXPLAIN it, say)."""
    compiled = _compile(statement)
    return compiled.sql, compiled.arguments(params)


class DirectConnection:
    """One asyncpg connection, taken from the engine's pool (direct_transaction)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> Rows:
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
        pool_connection = await pooled.get_raw_connection()
        raw = pool_connection.driver_connection
        assert isinstance(raw, asyncpg.Connection)
        try:
            # The pool forgets this when it drops the connection, and a new one installs.
            installed: set[str] = pool_connection.info.setdefault(_INSTALLED, set())
            if len(installed) < len(_functions):  # once per connection, not per checkout
                await _install_missing(raw, installed)
            yield raw
        except BaseException:
            if raw.is_closed():
                await pooled.invalidate()
            raise


async def _install_missing(connection: asyncpg.Connection, installed: set[str]) -> None:
    missing = [f for name, f in list(_functions.items()) if name not in installed]
    definitions = [await function.definition(connection) for function in missing]
    # One script, one round trip (a simple query: no parameters, run as one transaction).
    await connection.execute(";\n".join(definitions))
    installed.update(function.name for function in missing)


async def warm_up(engine: AsyncEngine) -> None:
    """Open one pooled connection and install the server functions on it, so that the
    first request after a start does not pay for working out their definitions (about
    50 ms). A database that is not up yet only delays that to the first request."""
    try:
        async with _pooled(engine):
            pass
    except Exception as exc:
        # With the traceback: a broken function definition lands here too.
        logger.warning(
            "could not prepare a database connection at start-up: %s", exc, exc_info=True
        )


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

"""Telling a dependency that is down or too slow (an expected failure: answer
`unavailable`, log one line) from a bug (answer `internal`, log the traceback)."""

import logging
import time

import asyncpg
import redis.exceptions
from limits.errors import StorageError
from sqlalchemy import exc as sa_exc

from chat_server.errors import Unavailable

UNAVAILABLE_MESSAGE = "a service the server needs is unavailable; try again shortly"

DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,  # asyncio's too, since Python 3.11
    ConnectionError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.AdminShutdownError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    StorageError,
    sa_exc.TimeoutError,  # no free pool connection in time
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    Unavailable,
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) says a dependency is down or slow."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DEPENDENCY_ERRORS):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


_TIMEOUTS: tuple[type[BaseException], ...] = (
    TimeoutError,
    asyncpg.QueryCanceledError,
    redis.exceptions.TimeoutError,
    sa_exc.TimeoutError,
)


def is_timeout(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is a dependency that did not answer in
    time: trying again at once would only wait as long again."""
    return _in_chain(exc, _TIMEOUTS)


def _in_chain(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    """One line for the log: the error's type and message, without a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# Expected failures come in floods (every request during an outage, every frame of a
# garbage stream): one line per interval and kind says as much as a thousand.
SUMMARY_INTERVAL_SECONDS = 10.0


class _Throttle:
    """At most one log line per key and interval; the next one counts those held back."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(self, logger: logging.Logger, level: int, key: str, message: str) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < SUMMARY_INTERVAL_SECONDS:
            self._held[key] = self._held.get(key, 0) + 1
            return
        held = self._held.pop(key, 0)
        self._last[key] = now
        if held:
            message += f" (and {held} more like it in the last {SUMMARY_INTERVAL_SECONDS:g}s)"
        logger.log(level, "%s", message)


_throttle = _Throttle()


def log_expected(logger: logging.Logger, key: str, message: str) -> None:
    """Log an expected failure (bad input, a dependency down): one WARNING line, at most
    one per SUMMARY_INTERVAL_SECONDS for the same `key`, without a traceback."""
    _throttle.log(logger, logging.WARNING, f"{logger.name}:{key}", message)


def log_unavailable(logger: logging.Logger, exc: BaseException) -> None:
    log_expected(logger, "unavailable", f"a dependency is unavailable: {describe(exc)}")

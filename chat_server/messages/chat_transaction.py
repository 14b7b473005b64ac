"""A batch's one transaction under the chat row lock, and the one recovery from a lost
COMMIT, for every kind of request in the message pipeline (sends and reads alike).

A COMMIT whose reply never arrives (the connection dropped) may or may not have
happened. The locking statement (LOCK_CHAT_FOR_MEMBERS), or the statement of a call
that takes the lock in its first step (a send's store, a read batch's watermark move),
returns the transaction's id before COMMIT is sent; once the chat
row lock is free again, the transaction has ended, and PostgreSQL says how (`pg_xact_status`):
committed, and the batch's results stand (they are published as usual, once); aborted,
and the batch is simply run again.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.chats.access import CHAT, LOCK_CHAT_FOR_MEMBERS
from chat_server.chats.models import Chat
from chat_server.direct_sql import DirectConnection, direct_transaction
from chat_server.messages.outcomes import Refused

# Tries of a batch that certainly did nothing, and of asking how a transaction ended.
ATTEMPTS = 3
logger = logging.getLogger(__name__)

Result = TypeVar("Result")
Work = Callable[[DirectConnection], Awaitable[Result]]
# Work that locks chat rows itself: the lock it holds (None: it took none), its result.
SelfLocking = Callable[[DirectConnection], Awaitable[tuple["HeldLock | None", Result]]]

_WAIT_FOR_CHAT = select(Chat.id).where(Chat.id == CHAT).with_for_update(read=True)
_XACT_STATUS = text("SELECT pg_xact_status(CAST(CAST(:xact AS text) AS xid8))")


class CommitUnknown(Exception):
    """A COMMIT got no reply, and PostgreSQL could not be asked whether it happened."""


@dataclass(frozen=True)
class _Undone:
    """The attempt certainly changed nothing; another may succeed."""

    error: Exception


async def run_locked(
    engine: AsyncEngine, *, chat_id: int, user_ids: Sequence[int], work: Work[Result]
) -> Result | Refused:
    """Run `work` in one transaction holding the chat row lock and return its result;
    Refused, with no lock taken, when none of `user_ids` is a member of the chat. The
    transaction runs straight on asyncpg (direct_sql.py): this is the hot path.

    Tried again, up to ATTEMPTS times in all, when an attempt certainly did nothing: its
    COMMIT was lost on the way (PostgreSQL says it aborted), or a unique key it inserted
    was taken by a transaction that committed after this one's snapshot (a parallel send
    with the same client_msg_id into another chat): the next attempt sees that row.
    Any other error is raised; nothing was committed then.
    """

    async def locked(conn: DirectConnection) -> tuple[HeldLock | None, Result | Refused]:
        lock = {"chat": chat_id, "user_ids": list(user_ids)}
        xact = (await conn.execute(LOCK_CHAT_FOR_MEMBERS, lock)).scalar()
        if xact is None:
            return None, Refused()
        return HeldLock(xact, chat_id), await work(conn)

    return await _run(engine, locked)


async def run_self_locking(engine: AsyncEngine, work: SelfLocking[Result]) -> Result | Refused:
    """run_locked for work that takes its chat row locks itself, in the statement it
    starts with (a direct_sql.FirstStep of the same call, say), and returns the lock it
    holds: None when it changed nothing (it may still hold a row lock until COMMIT, but
    a lost COMMIT then lost nothing), answered Refused. One round trip fewer than a lock
    statement of its own. Retried and raised as run_locked is."""

    async def locked(conn: DirectConnection) -> tuple[HeldLock | None, Result | Refused]:
        lock, result = await work(conn)
        return (None, Refused()) if lock is None else (lock, result)

    return await _run(engine, locked)


@dataclass(frozen=True)
class HeldLock:
    xact: str  # the transaction's id
    chat_id: int  # a chat whose row it locked: the lock is free once it has ended


Answer = TypeVar("Answer")
Locked = Callable[[DirectConnection], Awaitable[tuple["HeldLock | None", Answer]]]


async def _run(engine: AsyncEngine, locked: Locked[Answer]) -> Answer:
    attempts_left = ATTEMPTS
    while True:
        result = await _attempt(engine, locked)
        attempts_left -= 1
        if not isinstance(result, _Undone):
            return result
        if attempts_left == 0:
            raise result.error


async def _attempt(engine: AsyncEngine, locked: Locked[Answer]) -> Answer | _Undone:
    lock: HeldLock | None = None
    done = False
    try:
        async with direct_transaction(engine) as conn:
            lock, result = await locked(conn)
            done = True
    except asyncpg.UniqueViolationError as exc:
        if not done:
            return _Undone(exc)
        raise
    except Exception as exc:
        if not done or lock is None:
            raise  # COMMIT was never sent, or nothing was locked: nothing happened
        status = await _status(engine, lock.chat_id, lock.xact)
        if status == "committed":
            return result
        if status == "aborted":
            return _Undone(exc)
        raise CommitUnknown(f"transaction {lock.xact} of chat {lock.chat_id}: {status}") from exc
    return result


async def _status(engine: AsyncEngine, chat_id: int, xact: str) -> str | None:
    """How the transaction `xact`, which held the chat row lock, ended: 'committed' or
    'aborted'; None when PostgreSQL cannot be asked. A lookup that fails (its own reply
    lost, say) only read, so it is asked again."""
    for _ in range(ATTEMPTS):
        try:
            async with engine.begin() as conn:
                # Once this share lock is granted, the transaction has ended.
                await conn.execute(_WAIT_FOR_CHAT, {"chat": chat_id})
                status = (await conn.execute(_XACT_STATUS, {"xact": xact})).scalar()
        except Exception:
            logger.warning("could not ask how transaction %s ended; asking again", xact)
            continue
        return None if status is None else str(status)
    return None

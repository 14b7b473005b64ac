"""A batch's one transaction under the chat row lock, and the one recovery from a lost
COMMIT, for every kind of request in the message pipeline (sends and reads alike).

A COMMIT whose reply never arrives (the connection dropped) may or may not have
happened. The lock statement returns the transaction's id; once the chat row lock is
free again, the transaction has ended, and PostgreSQL says how (`pg_xact_status`):
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
ChatWork = Callable[[DirectConnection, int], Awaitable[Result]]  # the chat's id

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
    [result] = await run_locked_in_chats(
        engine, [(chat_id, user_ids)], work=lambda conn, _: work(conn)
    )
    return result


async def run_locked_in_chats(
    engine: AsyncEngine,
    chats: Sequence[tuple[int, Sequence[int]]],
    *,
    work: ChatWork[Result],
) -> list[Result | Refused]:
    """run_locked for several chats in one transaction: each chat's row lock (taken in
    ascending chat id order, so that two such transactions cannot deadlock; every other
    transaction locks one chat), then `work(conn, chat_id)` for it. One result per chat,
    in the order given; Refused for a chat with none of its `user_ids` as members.
    Retried and raised as run_locked is: all the chats' work commits or none does."""
    attempts_left = ATTEMPTS
    while True:
        results = await _attempt(engine, chats, work)
        attempts_left -= 1
        if not isinstance(results, _Undone):
            return results
        if attempts_left == 0:
            raise results.error


async def _attempt(
    engine: AsyncEngine, chats: Sequence[tuple[int, Sequence[int]]], work: ChatWork[Result]
) -> list[Result | Refused] | _Undone:
    xact: str | None = None
    locked_chat = 0  # a chat whose lock this transaction took: its end frees it
    done = False
    results: list[Result | Refused] = [Refused() for _ in chats]
    try:
        async with direct_transaction(engine) as conn:
            for index in sorted(range(len(chats)), key=lambda i: chats[i][0]):
                chat_id, user_ids = chats[index]
                lock = {"chat": chat_id, "user_ids": list(user_ids)}
                locked = (await conn.execute(LOCK_CHAT_FOR_MEMBERS, lock)).scalar()
                if locked is None:
                    continue
                xact, locked_chat = locked, chat_id
                results[index] = await work(conn, chat_id)
            done = True
    except asyncpg.UniqueViolationError as exc:
        if not done:
            return _Undone(exc)
        raise
    except Exception as exc:
        if not done or xact is None:
            raise  # COMMIT was never sent: the transaction is undone
        status = await _status(engine, locked_chat, xact)
        if status == "committed":
            return results
        if status == "aborted":
            return _Undone(exc)
        raise CommitUnknown(f"transaction {xact} of chat {locked_chat}: {status}") from exc
    return results


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

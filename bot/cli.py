"""`csbot`: the operator's command line (serve, migrate, db check, doctor, manifest)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from bot.settings import Settings, SettingsError, load_settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _settings_or_exit(*, for_serve: bool = False) -> Settings:
    try:
        return load_settings(for_serve=for_serve)
    except SettingsError as error:
        print(f"csbot: {error}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _configure_logging(settings: Settings) -> None:
    from bot.logging import configure_logging  # noqa: PLC0415 - keep `csbot --help` fast

    configure_logging(settings.log_level, settings.log_format, settings.secret_values())


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web  # noqa: PLC0415

    from bot.app import create_app  # noqa: PLC0415
    from bot.db.location import database_url  # noqa: PLC0415

    settings = _settings_or_exit(for_serve=True)
    _configure_logging(settings)
    with database_url(settings) as url:
        if args.migrate:
            asyncio.run(_migrate(url))
        app = create_app(settings, url)
        web.run_app(
            app,
            host=args.host or settings.host,
            port=args.port or settings.port,
            shutdown_timeout=30.0,
            access_log=None,
            print=lambda message: print(message, file=sys.stderr),
        )
    return EXIT_OK


async def _migrate(url: str) -> int:
    from bot.db.engine import create_engine  # noqa: PLC0415
    from bot.db.migrate import IncompatibleDatabase, migrate  # noqa: PLC0415

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        outcome = await migrate(engine)
    except IncompatibleDatabase as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    finally:
        await engine.dispose()
    print(outcome.describe())
    return EXIT_OK


def cmd_migrate(_args: argparse.Namespace) -> int:
    from bot.db.location import database_url  # noqa: PLC0415

    settings = _settings_or_exit()
    _configure_logging(settings)
    with database_url(settings) as url:
        return asyncio.run(_migrate(url))


async def _db_check(url: str) -> int:
    from bot.db.checks import check_database  # noqa: PLC0415

    result = await check_database(url)
    print(result.render())
    return EXIT_FAILED if result.has_problems else EXIT_OK


def cmd_db_check(_args: argparse.Namespace) -> int:
    from bot.db.location import database_url  # noqa: PLC0415

    settings = _settings_or_exit()
    _configure_logging(settings)
    with database_url(settings) as url:
        return asyncio.run(_db_check(url))


def cmd_doctor(_args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor  # noqa: PLC0415

    return asyncio.run(run_doctor())


def cmd_manifest(_args: argparse.Namespace) -> int:
    from bot.manifest import render_manifest  # noqa: PLC0415

    settings = _settings_or_exit()
    sys.stdout.write(render_manifest(settings.public_url, settings.slack_command))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csbot", description="ContainerStacks Slack bot.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP server, Slack listeners and background workers")
    serve.add_argument("--host", help="listen address (default HOST)")
    serve.add_argument("--port", type=int, help="listen port (default PORT)")
    serve.add_argument("--migrate", action="store_true", help="run `csbot migrate` before serving")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply migrations; adopt a database the panel created").set_defaults(
        func=cmd_migrate
    )

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_sub.add_parser("check", help="report drift between the live schema and the expected one").set_defaults(
        func=cmd_db_check
    )

    sub.add_parser("doctor", help="check configuration, database and Slack credentials").set_defaults(func=cmd_doctor)
    sub.add_parser("manifest", help="print manifest.yml with PUBLIC_URL filled in").set_defaults(func=cmd_manifest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())

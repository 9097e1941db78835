"""`csbot`: the operator's command line (serve, migrate, db check, billing, summaries, doctor, manifest, sandbox)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

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
    from bot.db.location import database_url  # noqa: PLC0415
    from bot.serve import HelperHandles, serve  # noqa: PLC0415

    settings = _settings_or_exit(for_serve=True)
    _configure_logging(settings)
    helper = None if args.listening_fd is None else HelperHandles(args.listening_fd, args.lifeline_fd)
    with database_url(settings) as url:
        if args.migrate and helper is None:
            asyncio.run(_migrate(url))
        serve(settings, url, args.host or settings.host, args.port or settings.port, helper)
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


def _parse_at(value: str | None) -> datetime:
    """`--at` as an aware datetime (naive values are UTC); default now."""
    if value is None:
        return datetime.now(tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _billing_run(url: str, settings: Settings, at: datetime, dry_run: bool) -> int:
    from bot.db.engine import create_engine  # noqa: PLC0415
    from bot.services.billing import BillingPolicy, describe_run, run_billing  # noqa: PLC0415

    engine = create_engine(url)
    try:
        policy = BillingPolicy.of(settings)
        result = await run_billing(engine, at, policy, dry_run=dry_run, source="cli")
        print("\n".join(await describe_run(engine, result)))
    finally:
        await engine.dispose()
    return EXIT_OK


def cmd_billing_run(args: argparse.Namespace) -> int:
    from bot.db.location import database_url  # noqa: PLC0415

    settings = _settings_or_exit()
    _configure_logging(settings)
    with database_url(settings) as url:
        return asyncio.run(_billing_run(url, settings, args.at or _parse_at(None), args.dry_run))


def cmd_sandbox(args: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    from bot.sandbox import run_sandbox  # noqa: PLC0415

    try:  # only for CSBOT_DATA_DIR (and to mention DATABASE_URL); the sandbox reads no other setting
        settings: Settings | None = load_settings()
    except SettingsError:
        settings = None
    data_dir = args.data_dir or (
        settings.csbot_data_dir if settings else Path(os.environ.get("CSBOT_DATA_DIR", ".csbot"))
    )
    ignored = bool(os.environ.get("DATABASE_URL") or (settings and settings.database_url))
    return run_sandbox(Path(data_dir), script=args.script, reset=args.reset, database_url_ignored=ignored)


async def _summary_post(url: str, settings: Settings, at: datetime) -> int:
    from bot.db.engine import create_engine  # noqa: PLC0415
    from bot.services.summaries import post_due  # noqa: PLC0415

    engine = create_engine(url)
    try:
        for result in await post_due(engine, settings, at):
            if result.slot is None:
                print(f"{result.job}: no slot due yet")
            elif not result.claimed:
                print(f"{result.job}: slot {result.slot.isoformat()} was already posted")
            else:
                print(f"{result.job}: slot {result.slot.isoformat()} covering from {result.covers_from.isoformat()}"  # type: ignore[union-attr]
                      f": {result.messages} message(s) queued")  # fmt: skip
    finally:
        await engine.dispose()
    return EXIT_OK


def cmd_summary_post(args: argparse.Namespace) -> int:
    from bot.db.location import database_url  # noqa: PLC0415

    settings = _settings_or_exit()
    _configure_logging(settings)
    with database_url(settings) as url:
        return asyncio.run(_summary_post(url, settings, args.at or _parse_at(None)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csbot", description="ContainerStacks Slack bot.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP server, Slack listeners and background workers")
    serve.add_argument("--host", help="listen address (default HOST)")
    serve.add_argument("--port", type=int, help="listen port (default PORT)")
    serve.add_argument("--migrate", action="store_true", help="run `csbot migrate` before serving")
    # Set by `bot.serve` when it starts a helper process (WEB_CONCURRENCY > 1); not for operators.
    serve.add_argument("--listening-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply migrations; adopt a database the panel created").set_defaults(
        func=cmd_migrate
    )

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_sub.add_parser("check", help="report drift between the live schema and the expected one").set_defaults(
        func=cmd_db_check
    )

    billing = sub.add_parser("billing", help="hourly billing")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True, metavar="BILLING_COMMAND")
    billing_run = billing_sub.add_parser("run", help="charge every due server hour now (or as of --at)")
    billing_run.add_argument("--at", type=_parse_at, default=None, help="ISO 8601 time to bill up to (default now)")
    billing_run.add_argument("--dry-run", action="store_true", help="print what would be charged; change nothing")
    billing_run.set_defaults(func=cmd_billing_run)

    summary = sub.add_parser("summary", help="scheduled summaries")
    summary_sub = summary.add_subparsers(dest="summary_command", required=True, metavar="SUMMARY_COMMAND")
    summary_post = summary_sub.add_parser("post", help="queue the daily/weekly summaries due now (or as of --at)")
    summary_post.add_argument("--at", type=_parse_at, default=None, help="ISO 8601 time (default now)")
    summary_post.set_defaults(func=cmd_summary_post)

    sub.add_parser("doctor", help="check configuration, database and Slack credentials").set_defaults(func=cmd_doctor)
    sub.add_parser("manifest", help="print manifest.yml with PUBLIC_URL filled in").set_defaults(func=cmd_manifest)

    sandbox = sub.add_parser("sandbox", help="the whole bot on this machine against emulators, with a console")
    sandbox.add_argument("--script", type=Path, metavar="FILE", help="play FILE, print the transcript")
    sandbox.add_argument("--data-dir", type=Path, help="where the sandbox keeps its data (default CSBOT_DATA_DIR)")
    sandbox.add_argument("--reset", action="store_true", help="drop the sandbox's demo database and seed it afresh")
    sandbox.set_defaults(func=cmd_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())

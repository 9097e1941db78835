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
#: Printed once, to this terminal only, when `migrate` built the schema and seeded the panel's admin.
SEED_ADMIN_NOTICE = (
    "\nThe panel's staff account {email} was created with this random password (shown only now,\n"
    "stored only as a bcrypt hash):\n\n    {password}\n\n"
    "Sign in to the panel with it and change it, or keep it in your password manager."
)


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
    from bot.db.migrate import SEED_ADMIN_EMAIL, IncompatibleDatabase, migrate  # noqa: PLC0415

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        outcome = await migrate(engine)
    except IncompatibleDatabase as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    finally:
        await engine.dispose()
    print(outcome.describe())
    if outcome.seed_admin_password is not None:
        print(SEED_ADMIN_NOTICE.format(email=SEED_ADMIN_EMAIL, password=outcome.seed_admin_password), flush=True)
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
    distributed = settings.slack_mode == "distributed"
    sys.stdout.write(render_manifest(settings.public_url, settings.slack_command, distributed=distributed))
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
    from bot.jobs.summaries import post_due  # noqa: PLC0415

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


#: Each command's one-line summary (in `csbot --help`) and what it does (in `csbot COMMAND --help`).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "run the bot: HTTP server, Slack listeners, scheduler and workers",
        "Run the bot: the HTTP server (Slack request URL, PayPal webhooks, link and PayPal pages, /healthz, "
        "/readyz, /metrics), the Slack listeners, the scheduler and the outbox, inbox and job workers. Needs "
        "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and BOT_SECRET. SIGTERM drains in-flight work and stops; "
        "WEB_CONCURRENCY=N answers with N processes.",
    ),
    "migrate": (
        "apply migrations; adopt a database the panel created",
        "Bring the database schema to the bot's latest revision. On an empty database it builds the panel's "
        "schema and the bot's tables; on a database the panel created it checks compatibility, stamps the "
        "baseline and adds only the bot's tables, changing no existing row. Safe to run again, and from "
        "several replicas at once.",
    ),
    "db": ("database tools", "Database tools: `csbot db check`."),
    "db check": (
        "report drift between the live schema and the expected one",
        "Compare the live schema with the expected one (the panel's tables, the bot's tables, triggers, "
        "functions, row-level security) and print the drift report. Exit status 1 on drift or when "
        "migrations are not at head.",
    ),
    "billing": ("hourly billing", "Hourly billing: `csbot billing run`."),
    "billing run": (
        "charge every due server hour now (or as of --at)",
        "Charge every server hour that has begun by now (or by --at) and print what was charged per "
        "organisation. Safe alongside the scheduler and other replicas: each hour is charged once.",
    ),
    "summary": ("scheduled summaries", "Scheduled summaries: `csbot summary post`."),
    "summary post": (
        "queue the daily/weekly summaries due now (or as of --at)",
        "Queue the daily and weekly summaries whose slot has come (by now, or by --at) and that no replica "
        "has posted yet.",
    ),
    "doctor": (
        "check everything the bot will use and say what to fix",
        "Check everything the bot will use, one line each with the fix: settings, database and migrations, "
        "Slack (auth.test, scopes, channel membership), PayPal (credentials, webhook), Linode (token, "
        "scopes), SSH_CRED_SECRET and PUBLIC_URL over https. Exit status 1 when something the "
        "configuration enables is broken.",
    ),
    "manifest": (
        "print manifest.yml with PUBLIC_URL filled in",
        "Print the Slack app manifest (YAML) with PUBLIC_URL and SLACK_COMMAND filled in, to paste at "
        "api.slack.com/apps.",
    ),
    "sandbox": (
        "the whole bot on this machine against emulators, with a console",
        "The whole bot on this machine with no accounts: embedded PostgreSQL, Slack, PayPal and Linode "
        "emulators and the real bot, driven from a console where you type /cs commands as a Slack user. "
        "The console keeps its database between runs (--reset starts it afresh); a --script run always "
        "plays in a fresh world of its own.",
    ),
}


def _command(sub: argparse._SubParsersAction, name: str, path: str | None = None) -> argparse.ArgumentParser:
    summary, description = COMMANDS[path or name]
    return sub.add_parser(name, help=summary, description=description)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csbot",
        description="ContainerStacks Slack bot: run it, migrate its database and check its configuration.",
        epilog="`csbot COMMAND --help` tells what a command does. Settings come from the environment and .env "
        "(see .env.example).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(sub, "serve")
    serve.add_argument("--host", help="listen address (default HOST)")
    serve.add_argument("--port", type=int, help="listen port (default PORT)")
    serve.add_argument("--migrate", action="store_true", help="run `csbot migrate` before serving")
    # Set by `bot.serve` when it starts a helper process (WEB_CONCURRENCY > 1); not for operators.
    serve.add_argument("--listening-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    _command(sub, "migrate").set_defaults(func=cmd_migrate)

    db_sub = _command(sub, "db").add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    _command(db_sub, "check", "db check").set_defaults(func=cmd_db_check)

    billing_sub = _command(sub, "billing").add_subparsers(
        dest="billing_command", required=True, metavar="BILLING_COMMAND"
    )
    billing_run = _command(billing_sub, "run", "billing run")
    billing_run.add_argument("--at", type=_parse_at, default=None, help="ISO 8601 time to bill up to (default now)")
    billing_run.add_argument("--dry-run", action="store_true", help="print what would be charged; change nothing")
    billing_run.set_defaults(func=cmd_billing_run)

    summary_sub = _command(sub, "summary").add_subparsers(
        dest="summary_command", required=True, metavar="SUMMARY_COMMAND"
    )
    summary_post = _command(summary_sub, "post", "summary post")
    summary_post.add_argument("--at", type=_parse_at, default=None, help="ISO 8601 time (default now)")
    summary_post.set_defaults(func=cmd_summary_post)

    _command(sub, "doctor").set_defaults(func=cmd_doctor)
    _command(sub, "manifest").set_defaults(func=cmd_manifest)

    sandbox = _command(sub, "sandbox")
    sandbox.add_argument(
        "--script", type=Path, metavar="FILE", help="play FILE in a fresh world and print the transcript"
    )
    sandbox.add_argument("--data-dir", type=Path, help="where the sandbox keeps its data (default CSBOT_DATA_DIR)")
    sandbox.add_argument("--reset", action="store_true", help="drop the console's demo database and seed it afresh")
    sandbox.set_defaults(func=cmd_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())

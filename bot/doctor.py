"""`csbot doctor`: check everything the bot will use, one line each, and say what to fix.

The checks live in `bot.diagnostics`; `CHECKS` is the list that runs (add one more small function
there to check one more thing). Exit status 1 when something the configuration turns on is broken;
warnings and skipped checks do not change it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence

import aiohttp

from bot.diagnostics import config, linode, paypal, secrets, slack, staff, web
from bot.diagnostics.database import open_database
from bot.diagnostics.findings import MARKS, Check, Context, Finding, Status
from bot.settings import Settings, SettingsError, load_settings

#: Run after the database check, concurrently (each has its own timeout); printed in this order.
CHECKS: tuple[Check, ...] = (
    config.serve_settings,
    config.features,
    slack.auth,
    slack.channels,
    paypal.credentials,
    paypal.webhook,
    linode.token,
    secrets.ssh_cred_secret,
    staff.default_passwords,
    web.public_url,
)
HTTP_TIMEOUT_SECONDS = 15.0


async def collect(settings: Settings, checks: Sequence[Check] = CHECKS) -> list[Finding]:
    """Every finding, the database's first; the checks that need the database see it only if it answered."""
    engine, found = await open_database(settings)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)) as http:
            context = Context(settings, http, engine)
            for result in await asyncio.gather(*(check(context) for check in checks)):
                found.extend(result if isinstance(result, list) else [result])
    finally:
        if engine is not None:
            await engine.dispose()
    return found


async def run_doctor(settings: Settings | None = None, write: Callable[[str], None] = print) -> int:
    """Print every finding; 0 when nothing failed, 1 otherwise (also for settings that do not parse)."""
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as error:
            write(f"{MARKS[Status.FAIL]} configuration:\n{error}")
            return 1
    write(f"{MARKS[Status.PASS]} configuration: every setting parses")
    findings = await collect(settings)
    for finding in findings:
        write(finding.render())
    failures = sum(finding.status is Status.FAIL for finding in findings)
    summary = f"{failures} check(s) failed." if failures else "Every check that applies passed."
    print(f"\n{summary}", file=sys.stderr)
    return 1 if failures else 0

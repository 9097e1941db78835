"""`csbot doctor`: check configuration, database and Slack credentials, say what to fix."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.settings import Settings, SettingsError, load_settings

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}


@dataclass(frozen=True)
class Finding:
    status: str
    check: str
    detail: str

    def render(self) -> str:
        return f"{MARKS[self.status]} {self.check}: {self.detail}"


async def run_doctor() -> int:
    findings: list[Finding] = []
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"{MARKS[FAIL]} configuration:\n{error}")
        return 1
    findings.append(Finding(OK, "configuration", "all settings parse"))
    findings.extend(_serve_requirements(settings))
    findings.extend(await _database_findings(settings))
    findings.append(await _slack_finding(settings))
    for finding in findings:
        print(finding.render())
    failed = any(f.status == FAIL for f in findings)
    print("\nSome checks failed." if failed else "\nAll required checks passed.", file=sys.stderr)
    return 1 if failed else 0


def _serve_requirements(settings: Settings) -> list[Finding]:
    try:
        load_settings(for_serve=True)
    except SettingsError as error:
        names = ", ".join(p.name for p in error.problems)
        return [Finding(FAIL, "serve settings", f"missing or invalid: {names} (see .env.example)")]
    return [Finding(OK, "serve settings", "Slack credentials present")]


async def _database_findings(settings: Settings) -> list[Finding]:
    if not settings.database_url:
        return [Finding(WARN, "database", "DATABASE_URL unset: the embedded PostgreSQL will be used")]
    from bot.db.engine import create_engine  # noqa: PLC0415
    from bot.db.migrate import current_revision, head_revision  # noqa: PLC0415

    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await current_revision(conn)
            staff = await _staff_password_finding(conn) if revision is not None else None
    except Exception as exc:
        return [Finding(FAIL, "database", f"cannot connect: {type(exc).__name__}: {exc}")]
    finally:
        await engine.dispose()
    head = head_revision()
    findings = [Finding(OK, "database", "reachable")]
    if revision != head:
        findings.append(
            Finding(FAIL, "migrations", f"database at {revision or 'none'}, code at {head}: run `csbot migrate`")
        )
    else:
        findings.append(Finding(OK, "migrations", f"at head ({head})"))
    return findings + ([staff] if staff else [])


async def _staff_password_finding(conn: AsyncConnection) -> Finding:
    """Warn about staff accounts whose password is a published default (`admin123` and the like)."""
    from bot.db.users import staff_password_hashes  # noqa: PLC0415
    from bot.panel_passwords import hash_is_known_default  # noqa: PLC0415

    staff = await staff_password_hashes(conn)
    known = await asyncio.gather(*(hash_is_known_default(password_hash) for _, password_hash in staff))
    weak = [email for (email, _), is_known in zip(staff, known, strict=True) if is_known]
    if weak:
        detail = f"{', '.join(weak)} still {'uses' if len(weak) == 1 else 'use'} a published default password"
        return Finding(WARN, "staff passwords", detail + " (such as admin123): change it in the panel now")
    return Finding(OK, "staff passwords", f"no staff account uses a published default ({len(staff)} checked)")


async def _slack_finding(settings: Settings) -> Finding:
    if settings.slack_bot_token is None:
        return Finding(FAIL, "slack", "SLACK_BOT_TOKEN not set")
    from slack_sdk.errors import SlackApiError  # noqa: PLC0415

    from bot.slack.client import interactive_client  # noqa: PLC0415

    client = interactive_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        return Finding(FAIL, "slack", f"auth.test failed: {exc.response.get('error')}")
    except Exception as exc:
        return Finding(FAIL, "slack", f"cannot reach {settings.slack_api_url}: {type(exc).__name__}")
    return Finding(OK, "slack", f"authenticated as {identity.get('user')} in team {identity.get('team')}")

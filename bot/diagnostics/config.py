"""Checks of the settings themselves: what `serve` requires, and configured features that cannot work."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from bot.diagnostics.findings import Context, Finding, failed, passed, skipped, warned
from bot.services import limitations

MODES = {
    "single": "single-workspace mode (SLACK_BOT_TOKEN)",
    "distributed": "distributed mode (OAuth installs: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)",
}


async def serve_settings(ctx: Context) -> Finding:
    """What `csbot serve` refuses to start without, for the Slack mode the settings choose."""
    settings = ctx.settings
    missing = [problem.name for problem in settings.serve_problems()]
    mode = MODES.get(settings.slack_mode or "", "no Slack mode")
    if missing:
        return failed("serve settings", f"{mode}; not set: {', '.join(missing)}", "set them in .env (see .env.example)")
    if settings.slack_mode == "distributed" and settings.slack_bot_token is not None:
        return warned("serve settings", f"{mode}; SLACK_BOT_TOKEN is set but unused", "remove it from .env")
    return passed("serve settings", f"{mode}: the Slack credentials and BOT_SECRET are present")


async def features(ctx: Context) -> list[Finding]:
    """The same list `csbot serve` warns about at start (PUBLIC_URL has its own check below)."""
    found = limitations.from_settings(ctx.settings)
    unread = []
    if ctx.engine is not None:
        try:
            found += await limitations.from_database(ctx.settings, ctx.engine)
        except SQLAlchemyError as exc:
            unread.append(skipped("stored settings", f"cannot read them: {type(exc).__name__}"))
    return [
        *(
            (failed if item.broken else warned)(item.feature.replace("_", " "), item.problem, item.fix)
            for item in found
            if item.feature != "public_url"
        ),
        *unread,
    ]

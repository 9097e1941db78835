"""Checks of the settings themselves: what `serve` requires, and configured features that cannot work."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from bot.diagnostics.findings import Context, Finding, failed, passed, skipped, warned
from bot.services import limitations


async def serve_settings(ctx: Context) -> Finding:
    """What `csbot serve` refuses to start without (`ServeSettings`)."""
    settings = ctx.settings
    required = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "BOT_SECRET": settings.bot_secret,
    }
    missing = [name for name, value in required.items() if value is None]
    if missing:
        return failed("serve settings", f"not set: {', '.join(missing)}", "set them in .env (see .env.example)")
    return passed("serve settings", "Slack credentials and BOT_SECRET are present")


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

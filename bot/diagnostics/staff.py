"""Staff accounts with a published default password (`admin123` and the like): anyone who has read
the panel's README could sign in as them, and through the link page act as staff in Slack."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import SQLAlchemyError

from bot.db.users import staff_password_hashes
from bot.diagnostics.findings import Context, Finding, passed, skipped, warned
from bot.panel_passwords import hash_is_known_default

CHECK = "staff passwords"


async def default_passwords(ctx: Context) -> Finding:
    if ctx.engine is None:
        return skipped(CHECK, "no database")
    try:
        async with ctx.engine.connect() as conn:
            staff = await staff_password_hashes(conn)
    except SQLAlchemyError as exc:
        return skipped(CHECK, f"cannot read the database: {type(exc).__name__}")
    known = await asyncio.gather(*(hash_is_known_default(password_hash) for _, password_hash in staff))
    weak = [email for (email, _), is_known in zip(staff, known, strict=True) if is_known]
    if weak:
        detail = f"{', '.join(weak)} still {'uses' if len(weak) == 1 else 'use'} a published default password"
        return warned(CHECK, detail + " (such as admin123)", "change it in the panel now")
    return passed(CHECK, f"no staff account uses a published default ({len(staff)} checked)")

"""SSH_CRED_SECRET must be the panel's own: it opens the envelopes the panel wrote (provider tokens,
root passwords), and the panel must open the ones the bot writes."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from bot import crypto
from bot.db import servers as servers_db
from bot.diagnostics.findings import Context, Finding, failed, passed, skipped

FIX = "set SSH_CRED_SECRET to exactly the value in the panel's environment (docs/linode-setup.md)"


async def ssh_cred_secret(ctx: Context) -> Finding:
    if ctx.settings.ssh_cred_secret is None:
        return skipped("SSH_CRED_SECRET", "not set")
    if ctx.engine is None:
        return skipped("SSH_CRED_SECRET", "no database to find one of the panel's envelopes in")
    try:
        async with ctx.engine.connect() as conn:
            provider = await servers_db.linode_provider_key(conn)
            password = await servers_db.newest_password_envelope(conn)
    except SQLAlchemyError as exc:
        return skipped("SSH_CRED_SECRET", f"cannot read the database: {type(exc).__name__}")
    samples = [
        (what, value) for what, value in (("the linode provider token", provider), ("a root password", password))
    ]
    envelopes = [(what, value) for what, value in samples if value and crypto.parse_envelope(value) is not None]
    if not envelopes:
        return skipped("SSH_CRED_SECRET", "no encrypted provider token or root password to test it on yet")
    secret = ctx.settings.ssh_cred_secret.get_secret_value()
    for what, value in envelopes:
        try:
            crypto.decrypt(value, secret)
        except crypto.EnvelopeError:
            return failed(
                "SSH_CRED_SECRET", f"does not open {what} the panel stored: it is not the panel's secret", FIX
            )
    return passed("SSH_CRED_SECRET", f"opens {' and '.join(what for what, _ in envelopes)} stored in the database")

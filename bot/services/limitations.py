"""Features the configuration turns on that cannot work as configured, found before anyone uses them.

`csbot serve` logs each one once at start (not at the first webhook or command that trips on it),
and `csbot doctor` shows the same list among its checks. The settings alone tell most of them; the
database tells whether a Linode token and a support triage channel exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import crypto
from bot.db import servers as servers_db
from bot.db import tickets as tickets_db
from bot.services.tickets_sync import SUPPORT_CHANNEL_KEY
from bot.settings import Settings

log = logging.getLogger(__name__)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104 - names, not a bind


@dataclass(frozen=True)
class Limitation:
    """One feature that cannot work: what goes wrong and how to fix it. `broken`: the configuration
    turns the feature on (a token, a credential), so `csbot doctor` fails instead of warning."""

    feature: str
    problem: str
    fix: str
    broken: bool = False


def is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def from_settings(settings: Settings) -> list[Limitation]:
    """What the settings alone show cannot work."""
    found = [*_paypal(settings), *_public_url(settings)]
    if settings.linode_api_token is not None and settings.ssh_cred_secret is None:
        found.append(
            Limitation(
                "vps",
                "LINODE_API_TOKEN is set but SSH_CRED_SECRET is not: servers cannot be created (their root "
                "passwords are stored encrypted with it, as the panel does)",
                "set SSH_CRED_SECRET to the panel's own secret (docs/linode-setup.md)",
                broken=True,
            )
        )
    if not settings.admin_channel:
        found.append(
            Limitation(
                "staff_alerts",
                "ADMIN_CHANNEL is not set: staff alerts (payment anomalies, refunds, disputes, Linode trouble, "
                "dead messages) are only logged",
                "set ADMIN_CHANNEL to the id of the staff channel (C0123ABCD) and invite the bot there",
            )
        )
    return found


def _paypal(settings: Settings) -> list[Limitation]:
    found = []
    if bool(settings.paypal_client_id) != bool(settings.paypal_client_secret):
        missing = "PAYPAL_CLIENT_SECRET" if settings.paypal_client_id else "PAYPAL_CLIENT_ID"
        found.append(
            Limitation(
                "paypal", f"{missing} is not set: top-ups are off", f"set {missing} from the PayPal REST app", True
            )
        )
    if settings.has_paypal_credentials and not settings.paypal_webhook_id:
        found.append(
            Limitation(
                "paypal_webhooks",
                "PayPal credentials are set but PAYPAL_WEBHOOK_ID is not: every PayPal webhook will be refused "
                "(400); top-ups still finish on the return page and through the reconciler",
                "add a webhook for PUBLIC_URL/webhooks/paypal in the PayPal REST app and set PAYPAL_WEBHOOK_ID",
            )
        )
    if settings.paypal_webhook_id and not settings.has_paypal_credentials:
        problem = "PAYPAL_WEBHOOK_ID is set but the PayPal credentials are not: top-ups are off"
        if settings.paypal_webhook_verification == "api":
            problem += " and every webhook will be refused (PAYPAL_WEBHOOK_VERIFICATION=api asks PayPal)"
        found.append(
            Limitation(
                "paypal", problem, "set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET from the PayPal REST app", True
            )
        )
    return found


def _public_url(settings: Settings) -> list[Limitation]:
    if is_local(settings.public_url):
        return [
            Limitation(
                "public_url",
                f"PUBLIC_URL is {settings.public_url}: Slack, PayPal and other people's browsers cannot reach "
                "the request URL, webhooks, link pages or PayPal return pages",
                "set PUBLIC_URL to the bot's public https address (docs/operations.md, TLS and a reverse proxy)",
            )
        ]
    if urlsplit(settings.public_url).scheme != "https":
        return [
            Limitation(
                "public_url",
                f"PUBLIC_URL is {settings.public_url}: Slack request URLs and PayPal webhooks need https, and the "
                "link page's anti-forgery cookie is only Secure over https",
                "serve the bot behind TLS and set PUBLIC_URL to its https:// address",
            )
        ]
    return []


async def from_database(settings: Settings, engine: AsyncEngine) -> list[Limitation]:
    """What needs the database to tell: is there a Linode token, and a support triage channel?"""
    async with engine.connect() as conn:
        stored_key = await servers_db.linode_provider_key(conn)
        support_channel = await tickets_db.get_setting(conn, SUPPORT_CHANNEL_KEY)
    found = []
    if settings.linode_api_token is None:
        found.extend(_stored_linode_token(settings, stored_key))
    if not (support_channel or settings.support_channel):
        found.append(
            Limitation(
                "tickets",
                "no support triage channel: new tickets get no card for staff",
                "run `/cs admin support-channel` in the triage channel, or set SUPPORT_CHANNEL",
            )
        )
    return found


def _stored_linode_token(settings: Settings, stored_key: str | None) -> list[Limitation]:
    if not stored_key:
        return [
            Limitation(
                "vps",
                "no Linode token (LINODE_API_TOKEN is unset and the panel has no active linode provider): "
                "/cs vps can list nothing and create nothing",
                "set LINODE_API_TOKEN (docs/linode-setup.md)",
            )
        ]
    secret = settings.ssh_cred_secret.get_secret_value() if settings.ssh_cred_secret else None
    try:
        crypto.decrypt_or_plaintext(stored_key, secret)
    except crypto.EnvelopeError:
        return [
            Limitation(
                "vps",
                "the panel's linode provider token is encrypted and SSH_CRED_SECRET does not open it: /cs vps "
                "cannot reach Linode",
                "set SSH_CRED_SECRET to the panel's own secret, or set LINODE_API_TOKEN",
                broken=True,
            )
        ]
    return []


async def log_limitations(settings: Settings, engine: AsyncEngine) -> list[Limitation]:
    """Log one warning per feature that cannot work (called once when `csbot serve` starts)."""
    found = from_settings(settings)
    try:
        found += await from_database(settings, engine)
    except Exception as error:  # the database may be down or unmigrated at start; /readyz says so
        log.warning("serve.feature_check_skipped", extra={"reason": f"{type(error).__name__}: {error}"})
    for limitation in found:
        log.warning(
            "serve.feature_unavailable",
            extra={"feature": limitation.feature, "problem": limitation.problem, "fix": limitation.fix},
        )
    return found

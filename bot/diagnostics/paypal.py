"""PayPal: the REST credentials get a token, and PAYPAL_WEBHOOK_ID names a webhook of that app that
points at PUBLIC_URL/webhooks/paypal and listens to the events the bot handles."""

from __future__ import annotations

from bot.diagnostics.findings import Context, Finding, failed, passed, skipped, warned
from bot.paypal.client import PayPalClient, PayPalError

#: The events docs/paypal-setup.md asks operators to subscribe to.
HANDLED_EVENTS = (
    "CHECKOUT.ORDER.APPROVED",
    "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.PENDING",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.DECLINED",
    "PAYMENT.CAPTURE.REFUNDED",
    "PAYMENT.CAPTURE.REVERSED",
    "CUSTOMER.DISPUTE.CREATED",
    "CUSTOMER.DISPUTE.UPDATED",
    "CUSTOMER.DISPUTE.RESOLVED",
)


def _client(ctx: Context) -> PayPalClient | None:
    settings = ctx.settings
    if not settings.has_paypal_credentials or settings.paypal_client_secret is None:
        return None
    return PayPalClient(
        ctx.http,
        settings.paypal_base_url,
        settings.paypal_client_id or "",
        settings.paypal_client_secret.get_secret_value(),
        timeout_seconds=10.0,
    )


async def credentials(ctx: Context) -> Finding:
    client = _client(ctx)
    if client is None:
        return skipped("paypal", "PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET are not both set: top-ups are off")
    where = f"{ctx.settings.paypal_mode} at {ctx.settings.paypal_base_url}"
    try:
        await client.check_credentials()
    except PayPalError as error:
        if error.status == 0:
            return failed("paypal", f"cannot reach PayPal ({where}): {error.name}", "check PAYPAL_API_URL and egress")
        fix = "check PAYPAL_CLIENT_ID/PAYPAL_CLIENT_SECRET and PAYPAL_MODE (sandbox and live apps have their own)"
        return failed("paypal", f"OAuth refused the credentials ({where}): {error.name}", fix)
    return passed("paypal", f"OAuth works ({where})")


async def webhook(ctx: Context) -> Finding:
    settings = ctx.settings
    client = _client(ctx)
    if not settings.paypal_webhook_id:
        return skipped("paypal webhook", "PAYPAL_WEBHOOK_ID not set")
    if client is None:
        return skipped("paypal webhook", "no PayPal credentials to look it up with")
    expected = settings.public_url.rstrip("/") + "/webhooks/paypal"
    try:
        found = await client.webhook(settings.paypal_webhook_id)
    except PayPalError as error:
        if error.status == 404:
            fix = (
                f"copy the Webhook ID shown for {expected} in the {settings.paypal_mode} REST app to PAYPAL_WEBHOOK_ID"
            )
            return failed("paypal webhook", f"this REST app has no webhook {settings.paypal_webhook_id}", fix)
        return failed("paypal webhook", f"cannot look it up: {error}", "run `csbot doctor` again later")
    if str(found.get("url", "")).rstrip("/") != expected:
        fix = f"edit the webhook's URL to {expected} (or fix PUBLIC_URL)"
        return failed("paypal webhook", f"{settings.paypal_webhook_id} points at {found.get('url')}", fix)
    names = {str(t.get("name")) for t in found.get("event_types") or [] if isinstance(t, dict)}
    missing = [] if "*" in names else [name for name in HANDLED_EVENTS if name not in names]
    if missing:
        fix = "subscribe the webhook to them (docs/paypal-setup.md lists every one)"
        return warned("paypal webhook", f"points at {expected} but does not send {', '.join(missing)}", fix)
    return passed("paypal webhook", f"{settings.paypal_webhook_id} points at {expected}")

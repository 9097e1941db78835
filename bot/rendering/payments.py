"""Block Kit for payment notices: the payer's DM, billing channels and staff alerts (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.money import format_money
from bot.rendering.escape import code, escape_mrkdwn
from bot.rendering.fit import SECTION_TEXT, clip_user_text, lines_message

ALERT_LINE = SECTION_TEXT // 2  # one detail of a staff alert (an error, an id), escaped


def _message(text: str, *, context: str | None = None) -> dict[str, Any]:
    return lines_message(text, context=context)


def topup_completed_dm(amount: Decimal, currency: str, balance: Decimal, org_name: str) -> dict[str, Any]:
    return _message(
        f":white_check_mark: Your top-up of *{format_money(amount, currency)}* to *{escape_mrkdwn(org_name)}* "
        f"is complete. New balance: *{format_money(balance, currency)}*."
    )


def topup_completed_channel(
    amount: Decimal, currency: str, balance: Decimal, org_name: str, slack_user: str | None
) -> dict[str, Any]:
    by = f" by <@{slack_user}>" if slack_user else ""
    return _message(
        f":moneybag: *{escape_mrkdwn(org_name)}* wallet topped up{by}: *{format_money(amount, currency)}*. "
        f"Balance: *{format_money(balance, currency)}*."
    )


def topup_pending_dm(amount: Decimal, currency: str, reason: str) -> dict[str, Any]:
    return _message(
        f":hourglass_flowing_sand: PayPal is still processing your top-up of *{format_money(amount, currency)}* "
        f"({clip_user_text(reason, 200)}). Your wallet is credited as soon as PayPal completes it; we'll tell you here."
    )


def topup_failed_dm(amount: Decimal, currency: str, command: str) -> dict[str, Any]:
    return _message(
        f":x: Your top-up of *{format_money(amount, currency)}* did not go through and nothing was charged to your "
        f"wallet. You can try again with `{command} wallet topup`, perhaps with another payment method."
    )


def refund_channel(amount: Decimal, currency: str, balance: Decimal, org_name: str, reversal: bool) -> dict[str, Any]:
    what = "reversed by PayPal (chargeback)" if reversal else "refunded through PayPal"
    return _message(
        f":leftwards_arrow_with_hook: {format_money(amount, currency)} of a *{escape_mrkdwn(org_name)}* top-up was "
        f"{what}. The wallet was debited; balance: *{format_money(balance, currency)}*."
    )


def staff_alert(title: str, lines: list[str]) -> dict[str, Any]:
    body = "\n".join(f"• {clip_user_text(line, ALERT_LINE)}" for line in lines)
    return _message(f":rotating_light: *{clip_user_text(title, 200)}*\n{body}", context="ContainerStacks payments")


def reference(value: str) -> str:
    return code(value)

"""Block Kit for a refusal while the organisation owes money: the amount and a top-up button (pure).

The button is the wallet's own Confirm button (`TOPUP_CONFIRM_ACTION_ID`) with a request for the
amount owed, so pressing it runs the usual top-up flow, which re-checks the role, the wallet and
the amount before anything is created at PayPal.
"""

from __future__ import annotations

from typing import Any

from bot.money import format_money
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.wallet import TOPUP_CONFIRM_ACTION_ID, topup_value
from bot.services.arrears import OrganisationOwes

TOPUP_BUTTON = "Top up {amount}"


def render_owed(refusal: OrganisationOwes, *, replace: bool | None = None) -> dict[str, Any]:
    """An ephemeral refusal with the amount owed and, when the wallet's currency allows, a top-up button."""
    text = f":no_entry_sign: {escape_mrkdwn(refusal.message)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if refusal.topup is not None:
        amount = format_money(refusal.topup.amount, refusal.topup.currency)
        button = {
            "type": "button",
            "action_id": TOPUP_CONFIRM_ACTION_ID,
            "text": {"type": "plain_text", "text": TOPUP_BUTTON.format(amount=amount)},
            "value": topup_value(refusal.topup),
            "style": "primary",
        }
        blocks.append({"type": "actions", "elements": [button]})
    message: dict[str, Any] = {"response_type": "ephemeral", "text": text, "blocks": blocks}
    if replace is not None:
        message["replace_original"] = replace
    return message

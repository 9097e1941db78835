"""Block Kit for the wallet: the card, ledger history, and the top-up preview and pay link (pure).

Organisation names and ledger descriptions pass through `escape_mrkdwn`; money goes through
`format_money`; every message has a top-level `text` for notifications and screen readers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from bot.db.ledger import TransactionRow
from bot.money import format_money, format_rate
from bot.panel_links import PanelLinks
from bot.rendering.dates import local_date
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.fit import SECTION_TEXT, clip_user_text, line_sections
from bot.rendering.paging import Pager, page_buttons, page_context
from bot.rendering.panel import panel_button
from bot.services.wallet import (
    APPROVAL_WINDOW_HOURS,
    DEFAULT_HOURLY_RATE,
    HISTORY_MAX,
    MIN_TOPUP,
    Burn,
    HistoryPage,
    StartedTopup,
    TopupPreview,
    TopupRequest,
    WalletCard,
)

# Interactive ids (each bound by exactly one listener in handlers/actions/wallet.py).
TOPUP_CONFIRM_ACTION_ID = "wallet_topup_confirm"
TOPUP_CANCEL_ACTION_ID = "wallet_topup_cancel"
HISTORY_OLDER_ACTION_ID = "wallet_history_older"
#: The Home's Top up button (value: the organisation) and the amount form it opens.
TOPUP_OPEN_ACTION_ID = "wallet_topup_open"
TOPUP_AMOUNT_CALLBACK_ID = "wallet_topup_amount"
AMOUNT_BLOCK_ID = "topup_amount"
HISTORY_NEWER_ACTION_ID = "wallet_history_newer"
#: A link button (it opens PayPal) whose click also replaces it with what happens next.
PAY_BUTTON_ACTION_ID = "wallet_topup_pay"

DESCRIPTION_MAX_CHARS = 60
NO_TRANSACTIONS = "No transactions yet."
NO_BURN = "No billed servers"
CARD_HINT = "`{command} wallet topup &lt;amount&gt;` adds funds · `{command} wallet history` shows more."
OWED_NOTE = (
    "The wallet is below zero, so this amount is owed. The next top-up repays it first; until then servers "
    "cannot be created, started, rebooted, rebuilt or resized."
)
UNPRICED_NOTE = "{n} of them match no plan and are counted at the panel's default {rate}/h."
ASK_AMOUNT = (
    "How much would you like to add? For example `{command} wallet topup 25`. "
    "Amounts from {minimum} to {maximum}, with at most two decimals, in the wallet's currency."
)
PREVIEW = "Top up *{org}* by *{amount}* via PayPal?"
PREVIEW_TEXT = "Top up {org} by {amount} via PayPal"
PREVIEW_NOTE = "Confirm creates a PayPal payment for you to approve. Nothing is charged until you approve it at PayPal."
CONFIRM_BUTTON = "Confirm"
CANCEL_BUTTON = "Cancel"
WORKING = ":hourglass_flowing_sand: Setting up your PayPal payment of {amount}…"
CANCELLED = "Top-up cancelled; nothing was charged."
PAY_PROMPT = "Pay *{amount}* with PayPal to top up *{org}*."
PAY_BUTTON = "Pay {amount} with PayPal"
PAY_NOTE = (
    "The button opens PayPal. The payment link expires: approve it within {hours} hours. "
    "Your wallet is credited as soon as PayPal confirms the payment: the page PayPal sends you back to "
    "says so, and I'll confirm it in a direct message (the Messages tab of this app)."
)
PAY_OPENED = (
    ":arrow_upper_right: PayPal is open for *{amount}*: approve the payment there. Your wallet is credited as "
    "soon as PayPal confirms it, and I'll confirm in a direct message."
)
PAY_AGAIN = "Closed PayPal without paying? <{url}|Open it again> (within {hours} hours of starting the top-up)."
HISTORY_CAPPED = "At most {max} rows are shown at a time."
AMOUNT_HINT = "From {minimum} to {maximum}, at most two decimals, in the wallet's currency. You confirm before paying."
STATUS_LABELS = {"completed": "completed", "pending": "pending", "failed": "failed", "refunded": "refunded"}


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return {**block, "accessory": accessory} if accessory else block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text, "blocks": blocks or [_section(text)]}


def replacement(text: str) -> dict[str, Any]:
    """Replace the message a button was on (outcomes, refusals, cancellation)."""
    return {**_ephemeral(text), "replace_original": True}


# -- numbers -------------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def format_runway(hours: Decimal | None) -> str:
    """`12 days 4 hours`, `5 hours`, `less than an hour`; `No billed servers` when nothing burns."""
    if hours is None:
        return NO_BURN
    whole = int(hours.to_integral_value(rounding=ROUND_DOWN))
    if whole < 1:
        return "less than an hour"
    days, rest = divmod(whole, 24)
    if days == 0:
        return _plural(rest, "hour")
    return _plural(days, "day") + (f" {_plural(rest, 'hour')}" if rest else "")


def signed_amount(amount: Decimal, currency: str) -> str:
    """Credits with `+`, debits with `-` (format_money already signs negatives)."""
    return ("+" if amount > 0 else "") + format_money(amount, currency)


def status_label(row: TransactionRow) -> str:
    if row.status == "failed" and row.metadata.get("cancel_reason"):
        return "cancelled"
    return STATUS_LABELS.get(row.status, escape_mrkdwn(row.status))


def _description(row: TransactionRow) -> str:
    text = " ".join((row.description or row.payment_method or "").split())
    if len(text) > DESCRIPTION_MAX_CHARS:
        text = text[: DESCRIPTION_MAX_CHARS - 1] + "…"
    return escape_mrkdwn(text)


def ledger_line(row: TransactionRow) -> str:
    """One ledger row; its date in the reader's own time zone (a date token, so no code span)."""
    created = row.created_at
    day = local_date(created) if isinstance(created, datetime) else str(created or "—")
    return f"{day} {_description(row)} · *{signed_amount(row.amount, row.currency)}* · {status_label(row)}"


def _ledger_sections(rows: Sequence[TransactionRow]) -> list[dict[str, Any]]:
    if not rows:
        return [_section(NO_TRANSACTIONS)]
    return line_sections([ledger_line(row) for row in rows])


# -- the card ------------------------------------------------------------------------------------------


def _burn_text(burn: Burn, currency: str) -> str:
    if burn.servers == 0:
        return NO_BURN
    servers = _plural(burn.servers, "billed server")
    return f"{format_money(burn.daily, currency)}/day ({format_rate(burn.hourly, currency)}/h) · {servers}"


def format_balance(balance: Decimal, currency: str) -> str:
    """`$12.50`; below zero plainly as a debt: `-$3.20 (owed)` (the one money format, sign included)."""
    if balance >= 0:
        return format_money(balance, currency)
    return f"{format_money(balance, currency)} (owed)"


def render_wallet_card(card: WalletCard, command: str, *, panel: PanelLinks | None = None) -> dict[str, Any]:
    org = escape_mrkdwn(card.org.name)
    balance = format_balance(card.balance, card.currency)
    runway = format_runway(card.runway_hours)
    fields = [
        f"*Balance*\n{balance} ({card.currency})",
        f"*Burn rate*\n{_burn_text(card.burn, card.currency)}",
        f"*Runway*\n{runway}",
    ]
    blocks: list[dict[str, Any]] = [
        _section(f"*Wallet of {org}*", panel_button(panel.billing(), "wallet") if panel else None),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if card.balance < 0:
        blocks.append(_context(OWED_NOTE))
    if card.burn.unpriced:
        note = UNPRICED_NOTE.format(n=card.burn.unpriced, rate=format_rate(DEFAULT_HOURLY_RATE, card.currency))
        blocks.append(_context(note))
    blocks += [{"type": "divider"}, _section("*Recent transactions*"), *_ledger_sections(card.transactions)]
    blocks.append(_context(CARD_HINT.format(command=command)))
    text = f"Wallet of {org}: balance {balance}; runway: {runway.lower()}."
    return _ephemeral(text, blocks)


# -- history -------------------------------------------------------------------------------------------


#: The ledger history's page buttons (Newer goes back towards the newest rows).
HISTORY_PAGER = Pager(
    previous_id=HISTORY_NEWER_ACTION_ID, next_id=HISTORY_OLDER_ACTION_ID, noun="Rows", previous_label="Newer",
    next_label="Older", note="newest first", max_limit=HISTORY_MAX,
)  # fmt: skip


def render_history(page: HistoryPage, *, requested: int | None = None) -> dict[str, Any]:
    org = escape_mrkdwn(page.org.name)
    blocks: list[dict[str, Any]] = [_section(f"*Wallet history of {org}*")]
    if page.transactions:
        blocks.append(page_context(HISTORY_PAGER, page.span))
    if requested is not None and requested > HISTORY_MAX:
        blocks.append(_context(HISTORY_CAPPED.format(max=HISTORY_MAX)))
    blocks += _ledger_sections(page.transactions)
    blocks += page_buttons(HISTORY_PAGER, page.span, page.org.id)
    text = f"Wallet history of {org}: {len(page.transactions)} transactions"
    return _ephemeral(text, blocks)


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


# -- top-ups -------------------------------------------------------------------------------------------


def render_ask_amount(command: str, maximum: Decimal) -> dict[str, Any]:
    text = ASK_AMOUNT.format(command=command, minimum=f"{MIN_TOPUP:,.2f}", maximum=f"{maximum:,.2f}")
    return _ephemeral(text)


def topup_value(request: TopupRequest) -> str:
    data = {
        "org": str(request.organization_id),
        "amount": f"{request.amount:.2f}",
        "currency": request.currency,
        "nonce": request.nonce,
    }
    return json.dumps(data, separators=(",", ":"))


def parse_topup_value(value: str) -> TopupRequest | None:
    """The request a Confirm button carries, or None if it is not ours (it is re-validated anyway)."""
    try:
        data = json.loads(value)
        request = TopupRequest(
            organization_id=uuid.UUID(str(data["org"])),
            amount=Decimal(str(data["amount"])),
            currency=str(data["currency"]),
            nonce=str(data["nonce"]),
        )
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return None
    if not request.amount.is_finite() or not 8 <= len(request.nonce) <= 64:
        return None
    return request


def render_amount_modal(organization_id: uuid.UUID, organization_name: str, maximum: Decimal) -> dict[str, Any]:
    """The Home's Top up form: the amount, then the same preview as `/cs wallet topup <amount>` (in a DM)."""
    hint = AMOUNT_HINT.format(minimum=f"{MIN_TOPUP:,.2f}", maximum=f"{maximum:,.2f}")
    element = {"type": "plain_text_input", "action_id": "value", "placeholder": {"type": "plain_text", "text": "25"}}
    return {
        "type": "modal",
        "callback_id": TOPUP_AMOUNT_CALLBACK_ID,
        "private_metadata": str(organization_id),
        "title": {"type": "plain_text", "text": "Top up"},
        "submit": {"type": "plain_text", "text": "Preview"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(f"Add funds to *{escape_mrkdwn(organization_name)}* with PayPal."),
            {"type": "input", "block_id": AMOUNT_BLOCK_ID, "label": {"type": "plain_text", "text": "Amount"},
             "element": element, "hint": {"type": "plain_text", "text": hint}},
        ],
    }  # fmt: skip


def submitted_amount(values: dict[str, Any]) -> str:
    return str(((values.get(AMOUNT_BLOCK_ID) or {}).get("value") or {}).get("value") or "")


def amount_errors(message: str) -> dict[str, str]:
    """`response_action: errors` for the amount form."""
    return {AMOUNT_BLOCK_ID: message[:150]}


def render_topup_preview(preview: TopupPreview) -> dict[str, Any]:
    amount = format_money(preview.request.amount, preview.request.currency)
    org = escape_mrkdwn(preview.organization_name)
    blocks = [
        _section(PREVIEW.format(org=org, amount=amount)),
        _context(PREVIEW_NOTE),
        {
            "type": "actions",
            "elements": [
                _button(CONFIRM_BUTTON, TOPUP_CONFIRM_ACTION_ID, topup_value(preview.request), style="primary"),
                _button(CANCEL_BUTTON, TOPUP_CANCEL_ACTION_ID, "cancel"),
            ],
        },
    ]
    return _ephemeral(PREVIEW_TEXT.format(org=org, amount=amount), blocks)


def render_topup_working(request: TopupRequest) -> dict[str, Any]:
    return replacement(WORKING.format(amount=format_money(request.amount, request.currency)))


def render_topup_cancelled() -> dict[str, Any]:
    return replacement(CANCELLED)


def render_topup_started(started: StartedTopup) -> dict[str, Any]:
    amount = format_money(started.amount, started.currency)
    prompt = PAY_PROMPT.format(amount=amount, org=escape_mrkdwn(started.organization_name))
    blocks = [
        _section(prompt),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": PAY_BUTTON_ACTION_ID,
                    "text": {"type": "plain_text", "text": PAY_BUTTON.format(amount=amount)},
                    "url": started.buyer_url,
                    "value": pay_value(started.amount, started.currency),
                    "style": "primary",
                }
            ],
        },
        _context(PAY_NOTE.format(hours=APPROVAL_WINDOW_HOURS)),
    ]
    return {**_ephemeral(prompt, blocks), "replace_original": True}


def pay_value(amount: Decimal, currency: str) -> str:
    return json.dumps({"amount": f"{amount:.2f}", "currency": currency}, separators=(",", ":"))


def render_pay_opened(value: str, url: str | None) -> dict[str, Any]:
    """The used Pay button replaced by its outcome: PayPal is open, what happens next, the way back."""
    try:
        data = json.loads(value)
        amount = format_money(Decimal(str(data["amount"])), str(data["currency"]))
    except (ValueError, KeyError, TypeError, InvalidOperation):
        amount = "your top-up"
    blocks = [_section(PAY_OPENED.format(amount=escape_mrkdwn(amount)))]
    if url and url.startswith(("https://", "http://")):
        blocks.append(_context(PAY_AGAIN.format(url=escape_mrkdwn(url), hours=APPROVAL_WINDOW_HOURS)))
    return {**_ephemeral(PAY_OPENED.format(amount=escape_mrkdwn(amount)), blocks), "replace_original": True}


def render_problem(message: str, *, transient: bool = False) -> dict[str, Any]:
    """A refusal or PayPal failure replacing the preview (plain-text message, escaped here)."""
    icon = ":warning:" if transient else ":no_entry_sign:"
    return replacement(f"{icon} {clip_user_text(message, SECTION_TEXT - 20)}")

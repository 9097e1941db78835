"""Block Kit for invoices in Slack: the answer when one is made, the list, the transaction picker and
the control that sends a stored invoice's file again (pure; descriptions are escaped)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.books.invoice_html import money
from bot.rendering.dates import local_time
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.fit import OPTION_TEXT, fallback, line_sections

if TYPE_CHECKING:
    from bot.db.invoices import InvoiceRow, LedgerRow
    from bot.services.invoices import Made

SEND_ACTION_ID = "invoice_send"
PICK_CALLBACK_ID = "invoice_pick_modal"
PICK_BLOCK = "invoice_pick"
VALUE = "value"


def _where(in_channel: bool) -> str:
    return "in this channel" if in_channel else "in your DM with the bot"


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": fallback(text), "blocks": blocks}


def made(invoice: Made) -> dict[str, Any]:
    text = (f":receipt: Invoice *{escape_mrkdwn(invoice.number)}*: {invoice.items} transaction(s), total "
            f"*{escape_mrkdwn(invoice.currency)} {escape_mrkdwn(invoice.total)}*. The HTML file is on its way "
            f"{_where(invoice.delivered_to.in_channel)}; the invoice is also in the panel's invoice list, "
            "where it downloads too.")  # fmt: skip
    return _message(text, line_sections([text]))


def listing(rows: list[InvoiceRow], organization_id: object, command: str) -> dict[str, Any]:
    if not rows:
        text = f"No invoices yet. `{command} billing invoice` makes one from the latest transactions."
        return _message(text, line_sections([text]))
    lines = ["*Invoices* (newest first)"] + [
        f"• {escape_mrkdwn(r.invoice_number)} · {local_time(r.created_at)} · "
        f"{escape_mrkdwn(r.currency)} {money(Decimal(r.total_amount))}"
        for r in rows
    ]
    options = [{"text": {"type": "plain_text", "text": f"{r.invoice_number} · {r.created_at:%Y-%m-%d}"[:OPTION_TEXT]},
                "value": f"{organization_id}|{r.id}"} for r in rows[:100]]  # fmt: skip
    select = {"type": "static_select", "action_id": SEND_ACTION_ID, "options": options,
              "placeholder": {"type": "plain_text", "text": "Send me the file…"}}  # fmt: skip
    blocks = line_sections(lines)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "Get an invoice's HTML file again:"},
                   "accessory": select})  # fmt: skip
    return _message("\n".join(lines), blocks)


def with_chart_note(card: dict[str, Any], *, in_channel: bool) -> dict[str, Any]:
    """`/cs billing`'s card, saying where its spend chart (per day, per server) is on its way."""
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": f":bar_chart: The spend chart (per day, per "
                                             f"server) is on its way {_where(in_channel)}."}]}  # fmt: skip
    text = card.get("text") or "Billing this month"
    return {**card, "text": text, "blocks": [*card.get("blocks", []), note]}


def sent_again(number: str, in_channel: bool) -> dict[str, Any]:
    text = f":receipt: The file of invoice *{escape_mrkdwn(number)}* is on its way {_where(in_channel)}."
    return {**_message(text, line_sections([text])), "replace_original": False}


def _label(row: LedgerRow) -> str:
    return f"{row.created_at:%Y-%m-%d} · {money(row.amount)} · {row.description or 'Wallet transaction'}"


def pick_modal(organization_id: object, channel_id: str | None, rows: list[LedgerRow]) -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": _label(r)[:OPTION_TEXT]}, "value": str(r.id)} for r in rows[:100]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Choose the transactions the invoice lists. One "
                                     "transaction makes the panel's single-transaction invoice (`INV-TXN-…`)."}},
    ]  # fmt: skip
    if options:
        blocks.append({"type": "input", "block_id": PICK_BLOCK, "label": {"type": "plain_text", "text": "Transactions"},
                       "element": {"type": "multi_static_select", "action_id": VALUE, "options": options,
                                   "placeholder": {"type": "plain_text", "text": "Latest first"}}})  # fmt: skip
    view: dict[str, Any] = {
        "type": "modal", "callback_id": PICK_CALLBACK_ID, "title": {"type": "plain_text", "text": "Invoice"},
        "private_metadata": json.dumps({"organization_id": str(organization_id), "channel_id": channel_id}),
        "blocks": blocks, "close": {"type": "plain_text", "text": "Cancel"},
    }  # fmt: skip
    if options:
        view["submit"] = {"type": "plain_text", "text": "Make invoice"}
    else:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No completed transactions yet."}})
    return view


def picked(values: dict[str, Any]) -> list[str]:
    state = (values.get(PICK_BLOCK) or {}).get(VALUE) or {}
    return [str(o["value"]) for o in state.get("selected_options") or []]


def result_modal(text: str) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Invoice"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}  # fmt: skip

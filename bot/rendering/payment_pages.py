"""HTML for the PayPal return and cancel pages (pure; the shell, style and CSP come from `pages`).

A page says what happened and what to do next, with the amount and balance only when the visitor
proved the top-up is theirs; the generic page names nothing.
"""

from __future__ import annotations

from decimal import Decimal

from bot.money import format_money
from bot.rendering.pages import paragraphs, render_page
from bot.services.topup_pages import PageKind, TopupPage

CLOSE_TAB = "You can close this tab and return to Slack."
GENERIC_TITLE = "Payment status"
GENERIC = "If you just paid, your wallet will update shortly; check Slack."
UNAVAILABLE_TITLE = "Payments unavailable"
UNAVAILABLE = "PayPal payments are not configured on this bot. If you just paid, your wallet will update shortly."
COMPLETED_TITLE = "Top-up complete"
COMPLETED = "Thank you! {amount} was added to your wallet."
BALANCE = "New balance: {balance}."
PENDING_TITLE = "Payment processing"
PENDING = "PayPal is still processing your payment of {amount}. We'll tell you in Slack as soon as it completes."
DECLINED_TITLE = "Payment not completed"
DECLINED = (
    "PayPal did not complete your payment of {amount}, and your wallet was not charged. "
    "Try another payment method: start a new top-up with {command} wallet topup in Slack."
)
NOT_APPROVED_TITLE = "Payment not approved yet"
NOT_APPROVED = (
    "PayPal says this payment of {amount} has not been approved yet. Use the “Pay with PayPal” button in Slack "
    "to approve it, or start a new top-up with {command} wallet topup."
)
PROCESSING_TITLE = "Almost done"
PROCESSING = (
    "We couldn't reach PayPal to finish your payment of {amount} just now. We'll finish it automatically; "
    "check Slack shortly."
)
REVIEW_TITLE = "Payment under review"
REVIEW = (
    "Your payment of {amount} needs a quick check by our staff before it reaches your wallet. "
    "They have been alerted, and you'll hear from us in Slack."
)
CANCELLED_TITLE = "Top-up cancelled"
CANCELLED = "Top-up cancelled; nothing was charged. Start a new one any time with {command} wallet topup."
ALREADY_PAID_TITLE = "Already paid"
ALREADY_PAID = (
    "This payment of {amount} was already made at PayPal, so it can't be cancelled here. "
    "Your wallet is credited once PayPal confirms it; check Slack."
)


def render_generic() -> str:
    """For a missing or wrong `ref`, or someone else's order: reveals nothing about any top-up."""
    return render_page(GENERIC_TITLE, paragraphs(GENERIC, CLOSE_TAB))


def render_topup_page(page: TopupPage, *, command: str) -> str:
    """The page for one of our top-ups (amounts are shown only here)."""
    if page.kind is PageKind.UNKNOWN or page.amount is None or page.currency is None:
        if page.kind is PageKind.UNAVAILABLE:
            return render_page(UNAVAILABLE_TITLE, paragraphs(UNAVAILABLE, CLOSE_TAB))
        return render_generic()
    amount = format_money(page.amount, page.currency)
    values = {"amount": amount, "command": command}
    if page.kind is PageKind.COMPLETED:
        return _completed(amount, page.balance, page.currency)
    title, template, role = {
        PageKind.PENDING: (PENDING_TITLE, PENDING, "status"),
        PageKind.DECLINED: (DECLINED_TITLE, DECLINED, "alert"),
        PageKind.NOT_APPROVED: (NOT_APPROVED_TITLE, NOT_APPROVED, "alert"),
        PageKind.PROCESSING: (PROCESSING_TITLE, PROCESSING, "status"),
        PageKind.REVIEW: (REVIEW_TITLE, REVIEW, "status"),
        PageKind.CANCELLED: (CANCELLED_TITLE, CANCELLED, "status"),
        PageKind.ALREADY_PAID: (ALREADY_PAID_TITLE, ALREADY_PAID, "status"),
    }.get(page.kind, (GENERIC_TITLE, GENERIC, "status"))
    return render_page(title, paragraphs(template.format(**values), CLOSE_TAB, role=role))


def _completed(amount: str, balance: Decimal | None, currency: str) -> str:
    lines = [COMPLETED.format(amount=amount)]
    if balance is not None:
        lines.append(BALANCE.format(balance=format_money(balance, currency)))
    return render_page(COMPLETED_TITLE, paragraphs(*lines, CLOSE_TAB))

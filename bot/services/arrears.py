"""Whether an organisation owes money, and the refusal that says so.

An organisation owes while it has hours recorded unpaid and not collected yet, or a negative
balance (a server's final charge may leave one). While it owes, creating, starting, rebooting,
rebuilding and resizing servers are refused: here, in the service layer, so the slash command, the
buttons and the modal submissions all go through the same check. The refusal carries what is owed
and a ready top-up request for the renderer's button.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import billing as billing_db
from bot.db.billing import Debt
from bot.errors import UserError
from bot.money import format_money
from bot.services.wallet import MIN_TOPUP, SUPPORTED_CURRENCIES, TopupRequest

CENT = Decimal("0.01")
OWES = (
    "{org} owes {amount} ({what}). Creating, starting, rebooting, rebuilding and resizing servers are paused "
    "until it is paid: top up at least {amount} with `{command} wallet topup {topup}`."
)


@dataclass(frozen=True)
class Owed:
    organization_id: uuid.UUID
    amount: Decimal  # what a top-up must bring in: the unpaid hours less the balance (or the negative balance)
    hours: int
    balance: Decimal
    currency: str


class OrganisationOwes(UserError):
    """The organisation owes money; pay it first."""

    def __init__(self, owed: Owed, *, organization: str, command: str) -> None:
        self.owed = owed
        self.topup = topup_for(owed)
        super().__init__(
            OWES.format(
                org=organization or "Your organisation",
                amount=format_money(owed.amount, owed.currency),
                what=_what(owed),
                command=command,
                topup=f"{topup_amount(owed.amount):.2f}",
            )
        )


def _what(owed: Owed) -> str:
    parts = []
    if owed.hours:
        parts.append(f"{owed.hours} unpaid server hour{'' if owed.hours == 1 else 's'}")
    if owed.balance < 0:
        parts.append(f"a balance of {format_money(owed.balance, owed.currency)}")
    return " and ".join(parts) or "unpaid hours"


def net_owed(debt: Debt) -> Decimal:
    """What a top-up must bring in before nothing is owed: zero when nothing is."""
    if debt.hours_owed == 0 and debt.balance >= 0:
        return Decimal("0.00")
    return max(Decimal("0.00"), debt.hours_amount - debt.balance)


def topup_amount(owed: Decimal) -> Decimal:
    """The owed amount rounded up to a cent, at least the smallest top-up."""
    return max(MIN_TOPUP, owed.quantize(CENT, rounding=ROUND_CEILING))


def topup_for(owed: Owed) -> TopupRequest | None:
    """A top-up of what is owed, for the refusal's button (re-validated in full when pressed)."""
    if owed.currency.upper() not in SUPPORTED_CURRENCIES:
        return None
    return TopupRequest(owed.organization_id, topup_amount(owed.amount), owed.currency.upper(),
                        secrets.token_urlsafe(12))  # fmt: skip


async def owed_by(conn: AsyncConnection, organization_id: uuid.UUID) -> tuple[Owed, Debt] | None:
    """What the organisation owes now (amount zero when nothing), with its debt; None without a wallet."""
    debt = await billing_db.debt(conn, organization_id)
    if debt is None:
        return None
    owed = Owed(organization_id, net_owed(debt), debt.hours_owed, debt.balance, debt.currency)
    return owed, debt


async def check_paid_up(conn: AsyncConnection, organization_id: uuid.UUID, *, organization: str, command: str) -> Debt:
    """Raise `OrganisationOwes` while anything is owed; else the debt read (its hours may still be
    open if a top-up covers them and the next billing run has not collected them yet)."""
    found = await owed_by(conn, organization_id)
    if found is None:
        return Debt(Decimal("0.00"), "USD", 0, Decimal("0.00"))
    owed, debt = found
    if owed.amount > 0:
        raise OrganisationOwes(owed, organization=organization, command=command)
    return debt


async def require_paid_up(engine: AsyncEngine, organization_id: uuid.UUID, *, organization: str, command: str) -> None:
    """`check_paid_up` on a connection of its own (actions that move no money)."""
    async with engine.connect() as conn:
        await check_paid_up(conn, organization_id, organization=organization, command=command)

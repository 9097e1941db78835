"""The Slack wallet: balance, ledger history, runway at the current burn, and starting PayPal top-ups.

Reading is plain: the panel's `wallets` and `payment_transactions`, and the hourly rate the panel
bills ((base_price + markup_price) / 730 per server, 0.027/h when no plan matches). Starting a
top-up follows the panel's shape (a `pending` paypal/paypal row whose provider_transaction_id is
the order id) with two additions: the row exists before the order, so its id is the order's
invoice_id and its PayPal-Request-Id, and a Confirm button confirmed twice reuses the same row, so
PayPal replays the first create instead of opening a second order. No Slack types here.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import ledger as ledger_db
from bot.db import plain, wallet_view
from bot.db.ledger import TransactionRow
from bot.db.plain import PlainConnection
from bot.db.wallet_view import CardSnapshot, RunningServer
from bot.errors import UserError
from bot.money import SYMBOLS, format_money
from bot.paypal.client import PayPalClient, PayPalError
from bot.paypal.models import MalformedResource, Order
from bot.services import access
from bot.services.audit import record as audit_record
from bot.services.audit import record_for_actor
from bot.services.identity import Actor, OrgContext, SlackRef, actor_from_row
from bot.services.paging import Span, clamp, read_page
from bot.services.permissions import Action
from bot.services.topup_pages import page_urls
from bot.services.topups import BRAND_NAME, attach_order, create_pending_topup, fail_topup, request_id_for_create
from bot.settings import Settings

log = logging.getLogger(__name__)

HOURS_PER_MONTH = Decimal(730)
#: The panel's hourly rate for a server whose plan_id matches no plan.
DEFAULT_HOURLY_RATE = Decimal("0.027")
CARD_ROWS = 10
HISTORY_DEFAULT = 25
HISTORY_MAX = 100
MIN_TOPUP = Decimal("1.00")
CENT = Decimal("0.01")
#: Currencies PayPal top-ups accept here (the panel's list).
SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP")
TOPUP_DESCRIPTION = "Wallet top-up via Slack"
#: The payer must be sent to PayPal within 3 hours of the order's creation.
APPROVAL_WINDOW_HOURS = 3

_AMOUNT = re.compile(r"^\d{1,12}(\.\d+)?$")


# -- refusals ----------------------------------------------------------------------------------------


class InvalidAmount(UserError):
    """That amount is not valid."""


class CurrencyNotSupported(UserError):
    """PayPal top-ups are not available for this wallet's currency."""


class PayPalNotConfigured(UserError):
    """PayPal is not configured on this bot, so top-ups from Slack are unavailable. Use the ContainerStacks panel."""


class NoWallet(UserError):
    """This organisation has no wallet yet. Open the ContainerStacks panel once to create it."""


class StaleTopup(UserError):
    """This top-up no longer matches the wallet. Run the top-up command again to get a fresh preview."""


class TopupAlreadyHandled(UserError):
    """This top-up was already handled. Start a new one with the top-up command."""


class TopupNotStarted(UserError):
    """PayPal could not start the payment, and nothing was charged."""

    def __init__(self, message: str | None = None, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


TOPUP_TRANSIENT = (
    "PayPal is having trouble right now, so the payment could not be started. Nothing was charged; "
    "please try again in a minute."
)
TOPUP_REFUSED = "PayPal refused to start the payment ({reason}). Nothing was charged; please contact support."
TOPUP_IN_FLIGHT = "This top-up is already being set up; use the PayPal button I sent, or start a new top-up."
TOPUP_APPROVED = "This payment is already approved at PayPal. Your wallet is credited as soon as PayPal confirms it."


# -- burn rate and runway ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Burn:
    """What the organisation's billed servers cost per hour (Decimal, unrounded)."""

    hourly: Decimal
    servers: int
    unpriced: int  # servers whose plan_id matched no plan (billed at the default rate)

    @property
    def daily(self) -> Decimal:
        return self.hourly * 24


def hourly_rate(monthly_price: Decimal | None) -> Decimal:
    """The panel's hourly rate for one server: monthly (base + markup) / 730, else 0.027."""
    return DEFAULT_HOURLY_RATE if monthly_price is None else monthly_price / HOURS_PER_MONTH


def burn_of(servers: Sequence[RunningServer]) -> Burn:
    return Burn(
        hourly=sum((hourly_rate(s.monthly_price) for s in servers), Decimal(0)),
        servers=len(servers),
        unpriced=sum(1 for s in servers if s.monthly_price is None),
    )


def runway_hours(balance: Decimal, burn: Burn) -> Decimal | None:
    """Hours the balance lasts at `burn`; None when nothing is running (no burn)."""
    if burn.hourly <= 0:
        return None
    return max(balance, Decimal(0)) / burn.hourly


# -- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletCard:
    org: OrgContext
    balance: Decimal
    currency: str
    burn: Burn
    runway_hours: Decimal | None
    transactions: list[TransactionRow]


@dataclass(frozen=True)
class HistoryPage:
    org: OrgContext
    currency: str
    transactions: list[TransactionRow]
    span: Span


def _org(actor: Actor) -> OrgContext:
    if actor.org is None:
        raise UserError("You are not in an organisation yet.")
    return actor.org


@dataclass(frozen=True)
class PrefetchedCard:
    """A wallet card read together with the actor, for the organisation they most likely act in."""

    organization_id: uuid.UUID
    snapshot: CardSnapshot | None  # None: that organisation has no wallet


async def actor_with_card(
    pool: asyncpg.Pool, slack: SlackRef, channel_id: str | None
) -> tuple[Actor, PrefetchedCard | None] | None:
    """`resolve_actor` for `/cs wallet`, with the card read in the same statement (None: not linked).

    The card is only read, never shown, until `wallet_card` has checked the actor's permission in
    the organisation they turn out to act in.
    """

    async def lookup(conn: PlainConnection) -> tuple[Actor, PrefetchedCard | None] | None:
        found = await wallet_view.actor_with_card(
            conn, slack.enterprise_id, slack.team_id, slack.user_id, channel_id, rows=CARD_ROWS
        )
        if found is None:
            return None
        actor = await actor_from_row(conn, slack, found.actor)
        return actor, None if found.card_org is None else PrefetchedCard(found.card_org, found.card)

    return await plain.read(pool, lookup)


async def wallet_card(pool: asyncpg.Pool, actor: Actor, *, prefetched: PrefetchedCard | None = None) -> WalletCard:
    """Balance, burn, runway and the last ledger rows of the actor's active organisation.

    One statement on the plain pool (`bot.db.plain`), none when `prefetched` is this organisation's:
    `/cs wallet` is the most used command.
    """
    org = _org(actor)
    actor.require(Action.VIEW)

    if prefetched is not None and prefetched.organization_id == org.id:
        snapshot = prefetched.snapshot
    else:
        snapshot = await plain.read(pool, lambda conn: wallet_view.card_snapshot(conn, org.id, rows=CARD_ROWS))
    if snapshot is None:
        raise NoWallet
    burn = burn_of(snapshot.servers)
    return WalletCard(
        org, snapshot.balance, snapshot.currency, burn, runway_hours(snapshot.balance, burn), snapshot.transactions
    )


def parse_history_count(args: Sequence[str]) -> int:
    """`[n]`: how many rows, default 25, at most 100."""
    if not args:
        return HISTORY_DEFAULT
    word = args[0]
    if not word.isdigit() or int(word) < 1:
        raise UserError(f"“{word}” is not a number of rows; use a whole number from 1 to {HISTORY_MAX}.")
    return min(int(word), HISTORY_MAX)


async def history_page(engine: AsyncEngine, actor: Actor, *, limit: int, offset: int = 0) -> HistoryPage:
    org = _org(actor)
    actor.require(Action.VIEW)
    offset, limit = clamp(offset, limit, maximum=HISTORY_MAX)
    async with engine.connect() as conn:
        wallet = await ledger_db.read_wallet(conn, org.id)
        rows, span = await read_page(
            lambda: ledger_db.count_transactions(conn, org.id),
            lambda n, at: ledger_db.recent_transactions(conn, org.id, limit=n, offset=at),
            offset=offset,
            limit=limit,
        )
    currency = wallet.currency if wallet is not None else "USD"
    return HistoryPage(org, currency, rows, span)


# -- top-ups ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopupRequest:
    """What the Confirm button carries; `nonce` makes a double-click reuse one top-up."""

    organization_id: uuid.UUID
    amount: Decimal
    currency: str
    nonce: str


@dataclass(frozen=True)
class TopupPreview:
    request: TopupRequest
    organization_name: str


@dataclass(frozen=True)
class StartedTopup:
    transaction_id: uuid.UUID
    order_id: str
    buyer_url: str
    amount: Decimal
    currency: str
    organization_name: str


def parse_amount(text: str, *, currency: str, maximum: Decimal) -> Decimal:
    """A positive amount with at most two decimals, from 1.00 to `maximum`, as Decimal. The wallet's
    currency symbol may come first (`$10`), as people write amounts."""
    word = _without_symbol(text.strip(), currency)
    if word.startswith("-"):
        raise InvalidAmount(f"“{word}” is negative. Give a positive amount, for example 25 or 25.50.")
    if not _AMOUNT.match(word):
        raise InvalidAmount(f"“{word}” is not an amount. Give a number, for example 25 or 25.50.")
    amount = Decimal(word)
    if amount != amount.quantize(CENT):
        raise InvalidAmount(f"“{word}” has more than two decimals. Use whole cents, for example 25.50.")
    amount = amount.quantize(CENT)
    if amount < MIN_TOPUP:
        raise InvalidAmount(f"The smallest top-up is {format_money(MIN_TOPUP, currency)}.")
    if amount > maximum:
        raise InvalidAmount(f"The largest top-up is {format_money(maximum, currency)}.")
    return amount


def _without_symbol(word: str, currency: str) -> str:
    for code, symbol in SYMBOLS.items():
        if word.startswith(symbol):
            if code != currency.upper():
                example = format_money(Decimal(25), currency)
                raise InvalidAmount(
                    f"This wallet is in {currency.upper()}: give the amount in it, for example {example}."
                )
            return word.removeprefix(symbol).strip()
    return word


def check_can_top_up(actor: Actor, settings: Settings, *, paypal_configured: bool) -> OrgContext:
    """Role first (members are told who can), then whether this bot can take payments at all."""
    org = _org(actor)
    actor.require(Action.TOP_UP_WALLET)
    if not paypal_configured:
        raise PayPalNotConfigured
    if settings.bot_secret is None:
        raise PayPalNotConfigured(
            "Top-ups from Slack need BOT_SECRET to be set on this bot. Use the ContainerStacks panel."
        )
    return org


async def _wallet_currency(engine: AsyncEngine, organization_id: uuid.UUID) -> str:
    async with engine.connect() as conn:
        wallet = await ledger_db.read_wallet(conn, organization_id)
    if wallet is None:
        raise NoWallet
    currency = wallet.currency.upper()
    if currency not in SUPPORTED_CURRENCIES:
        raise CurrencyNotSupported(
            f"This wallet is in {currency}, and PayPal top-ups here support only {', '.join(SUPPORTED_CURRENCIES)}. "
            "Please contact support to top up."
        )
    return currency


async def prepare_topup(
    engine: AsyncEngine, actor: Actor, settings: Settings, *, paypal_configured: bool, amount_text: str
) -> TopupPreview:
    """Validate a `/cs wallet topup <amount>` and describe what Confirm will do (nothing is written)."""
    org = check_can_top_up(actor, settings, paypal_configured=paypal_configured)
    currency = await _wallet_currency(engine, org.id)
    amount = parse_amount(amount_text, currency=currency, maximum=settings.topup_max_amount)
    return TopupPreview(TopupRequest(org.id, amount, currency, secrets.token_urlsafe(12)), org.name)


def _slack_metadata(actor: Actor, channel_id: str | None, nonce: str) -> dict[str, str]:
    """What the payment notices need to reach the payer, plus the preview's nonce."""
    return {
        "source": "slack",
        "slack_user_id": actor.slack.user_id,
        "slack_team_id": actor.slack.team_id,
        "slack_enterprise_id": actor.slack.enterprise_id,
        "slack_channel_id": channel_id or "",
        "user_id": str(actor.user_id),
        "topup_nonce": nonce,
    }


async def confirm_topup(
    engine: AsyncEngine,
    paypal: PayPalClient | None,
    settings: Settings,
    actor: Actor,
    request: TopupRequest,
    *,
    channel_id: str | None,
) -> StartedTopup:
    """Re-check everything, write the pending row, create the PayPal order, attach it and audit it."""
    async with engine.connect() as conn:
        actor = await access.in_organization(conn, actor, request.organization_id)
    org = check_can_top_up(actor, settings, paypal_configured=paypal is not None)
    assert paypal is not None and settings.bot_secret is not None  # checked just above
    currency = await _wallet_currency(engine, org.id)
    amount = parse_amount(f"{request.amount}", currency=currency, maximum=settings.topup_max_amount)
    if currency != request.currency or amount != request.amount:
        raise StaleTopup
    async with engine.begin() as conn:
        await wallet_view.lock_topup_request(conn, request.nonce)
        txn_id = await wallet_view.topup_by_nonce(conn, org.id, request.nonce)
        created = txn_id is None
        if txn_id is None:
            txn_id = await create_pending_topup(
                conn,
                organization_id=org.id,
                amount=amount,
                currency=currency,
                description=TOPUP_DESCRIPTION,
                slack_metadata=_slack_metadata(actor, channel_id, request.nonce),
            )
        else:
            existing = await ledger_db.transaction(conn, txn_id)
            if existing is None or existing.status != "pending":
                raise TopupAlreadyHandled
    return_url, cancel_url = page_urls(settings.public_url, settings.bot_secret.get_secret_value(), txn_id)
    try:
        order = await paypal.create_order(
            request_id=request_id_for_create(txn_id),
            amount=amount,
            currency=currency,
            custom_id=str(org.id),
            invoice_id=str(txn_id),
            description=f"Wallet top-up for {org.name}",
            brand_name=BRAND_NAME,
            return_url=return_url,
            cancel_url=cancel_url,
        )
    except (PayPalError, MalformedResource) as error:
        if not created:  # a second click: the first one owns the row and reports its own outcome
            log.info("wallet.topup_replay_failed", extra={"transaction_id": str(txn_id), "error": str(error)})
            raise TopupNotStarted(TOPUP_IN_FLIGHT) from error
        await _record_failure(engine, actor, txn_id, error, channel_id=channel_id)
        raise _not_started(error) from error
    return await _attach(engine, actor, txn_id, order, org=org, amount=amount, currency=currency, channel_id=channel_id)


def _not_started(error: Exception) -> TopupNotStarted:
    if isinstance(error, PayPalError) and error.transient:
        return TopupNotStarted(TOPUP_TRANSIENT, transient=True)
    reason = error.name if isinstance(error, PayPalError) else "unexpected answer"
    return TopupNotStarted(TOPUP_REFUSED.format(reason=reason))


async def _record_failure(
    engine: AsyncEngine, actor: Actor, txn_id: uuid.UUID, error: Exception, *, channel_id: str | None
) -> None:
    details: dict[str, object] = {"paypal_error": type(error).__name__}
    if isinstance(error, PayPalError):
        details = {
            "paypal_status_code": error.status,
            "paypal_error": error.name,
            "paypal_issue": error.issue,
            "paypal_debug_id": error.debug_id,
        }
    log.warning("wallet.topup_create_failed", extra={"transaction_id": str(txn_id), **details})
    async with engine.begin() as conn:
        await fail_topup(conn, txn_id, details)
        await audit_record(
            conn,
            user_id=actor.user_id,
            slack=actor.slack,
            event_type="wallet.topup.failed",
            entity_type="payment_transaction",
            entity_id=str(txn_id),
            organization_id=actor.org.id if actor.org else None,
            message=f"PayPal order could not be created: {details.get('paypal_error')}",
            status="error",
            channel_id=channel_id,
            metadata=details,
        )


async def _attach(
    engine: AsyncEngine,
    actor: Actor,
    txn_id: uuid.UUID,
    order: Order,
    *,
    org: OrgContext,
    amount: Decimal,
    currency: str,
    channel_id: str | None,
) -> StartedTopup:
    async with engine.begin() as conn:
        row = await ledger_db.transaction_for_update(conn, txn_id)
        if row is None or row.status != "pending":
            raise TopupAlreadyHandled
        if row.provider_transaction_id is None:
            await attach_order(conn, txn_id, order.id)
            await record_for_actor(
                conn,
                actor,
                event_type="wallet.topup.create",
                entity_type="payment_transaction",
                entity_id=str(txn_id),
                message=f"Started a PayPal top-up of {amount:.2f} {currency}",
                organization_id=org.id,
                channel_id=channel_id,
                metadata={"amount": f"{amount:.2f}", "currency": currency, "paypal_order_id": order.id},
            )
        elif row.provider_transaction_id != order.id:
            log.error(
                "wallet.topup_order_mismatch",
                extra={"transaction_id": str(txn_id), "attached": row.provider_transaction_id, "replayed": order.id},
            )
            raise TopupNotStarted(TOPUP_IN_FLIGHT)
    if order.buyer_url is None:
        raise TopupNotStarted(TOPUP_APPROVED)
    return StartedTopup(txn_id, order.id, order.buyer_url, amount, currency, org.name)

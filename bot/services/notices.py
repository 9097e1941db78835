"""What the bot tells people, queued as facts: a notice names its kind and carries plain values.

Services decide *that* someone is told and *what happened*, in the transaction that made it happen;
the words and Block Kit are chosen by `bot.rendering.notices` when the outbox sends the row. So a
service never imports rendering, a queued row stays small, and times are written for the reader
(Slack's `<!date^…>`) at the moment they are shown. Values are JSON: money as strings, times ISO.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

#: The key of a queued payload that is a notice (any other payload is a ready Slack message).
NOTICE = "notice"

SERVER_CREATED = "server.created"
SERVER_ACTION = "server.action"
SERVER_DELETED = "server.deleted"
SERVER_MISSING = "server.missing"
SERVER_ABANDONED = "server.abandoned"
SERVERS_ALERT = "servers.staff_alert"
PAYMENTS_ALERT = "payments.staff_alert"
TOPUP_COMPLETED_DM = "topup.completed.dm"
TOPUP_COMPLETED_CHANNEL = "topup.completed.channel"
TOPUP_PENDING_DM = "topup.pending.dm"
TOPUP_FAILED_DM = "topup.failed.dm"
TOPUP_REFUNDED_CHANNEL = "topup.refunded.channel"
ARREARS = "billing.arrears"
POWER_OFF = "billing.power_off"


def _json(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def notice(kind: str, **values: Any) -> dict[str, Any]:
    """A queued payload: `kind` and its values (see the constructors below)."""
    return {NOTICE: kind, "values": {name: _json(value) for name, value in values.items()}}


def server_created(label: str, ip: str | None, rate: Decimal) -> dict[str, Any]:
    return notice(SERVER_CREATED, label=label, ip=ip, rate=rate)


def server_action(label: str, done: str, slack_user: str) -> dict[str, Any]:
    return notice(SERVER_ACTION, label=label, done=done, slack_user=slack_user)


def server_deleted(label: str, slack_user: str) -> dict[str, Any]:
    return notice(SERVER_DELETED, label=label, slack_user=slack_user)


def server_missing(label: str, final_charge: Decimal) -> dict[str, Any]:
    return notice(SERVER_MISSING, label=label, final_charge=final_charge)


def server_abandoned(label: str, refunded: Decimal | None) -> dict[str, Any]:
    return notice(SERVER_ABANDONED, label=label, refunded=refunded)


def servers_alert(title: str, lines: list[str]) -> dict[str, Any]:
    return notice(SERVERS_ALERT, title=title, lines=lines)


def payments_alert(title: str, lines: list[str]) -> dict[str, Any]:
    return notice(PAYMENTS_ALERT, title=title, lines=lines)


def topup_completed_dm(amount: Decimal, currency: str, balance: Decimal, org_name: str) -> dict[str, Any]:
    return notice(TOPUP_COMPLETED_DM, amount=amount, currency=currency, balance=balance, org_name=org_name)


def topup_completed_channel(
    amount: Decimal, currency: str, balance: Decimal, org_name: str, slack_user: str | None
) -> dict[str, Any]:
    return notice(TOPUP_COMPLETED_CHANNEL, amount=amount, currency=currency, balance=balance, org_name=org_name,
                  slack_user=slack_user)  # fmt: skip


def topup_pending_dm(amount: Decimal, currency: str, reason: str) -> dict[str, Any]:
    return notice(TOPUP_PENDING_DM, amount=amount, currency=currency, reason=reason)


def topup_failed_dm(amount: Decimal, currency: str, command: str) -> dict[str, Any]:
    return notice(TOPUP_FAILED_DM, amount=amount, currency=currency, command=command)


def topup_refunded_channel(
    amount: Decimal, currency: str, balance: Decimal, org_name: str, *, reversal: bool
) -> dict[str, Any]:
    return notice(TOPUP_REFUNDED_CHANNEL, amount=amount, currency=currency, balance=balance, org_name=org_name,
                  reversal=reversal)  # fmt: skip


def arrears(
    *, org_name: str, amount_owed: Decimal, currency: str, hours_owed: int, servers: int, power_off_at: datetime,
    command: str, first: bool,
) -> dict[str, Any]:  # fmt: skip
    return notice(ARREARS, org_name=org_name, amount_owed=amount_owed, currency=currency, hours_owed=hours_owed,
                  servers=servers, power_off_at=power_off_at, command=command, first=first)  # fmt: skip


def power_off(org_name: str, label: str, command: str) -> dict[str, Any]:
    return notice(POWER_OFF, org_name=org_name, label=label, command=command)

"""The words of a queued notice (`bot.services.notices`), chosen when the outbox sends it.

Each kind maps to the rendering function that writes it; a payload that is not a notice is already a
Slack message and is sent as it is. A kind this version does not know (a row queued by a newer
replica) is an error the outbox retries, so a rolling deploy never loses it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.rendering import billing, payments, vps
from bot.services import notices as n

Values = dict[str, Any]
Message = dict[str, Any]


class UnknownNotice(ValueError):
    """A queued notice of a kind this version cannot write."""


def _money(values: Values, name: str) -> Decimal | None:
    value = values.get(name)
    return None if value is None else Decimal(str(value))


def _topup(values: Values) -> tuple[Decimal, str, Decimal]:
    """A top-up notice's amount, currency and the wallet's balance after it."""
    return Decimal(values["amount"]), values["currency"], Decimal(values["balance"])


def _arrears(values: Values) -> Message:
    return billing.arrears_notice(
        org_name=values["org_name"], amount_owed=Decimal(values["amount_owed"]), currency=values["currency"],
        hours_owed=int(values["hours_owed"]), servers=int(values["servers"]),
        power_off_at=datetime.fromisoformat(values["power_off_at"]), command=values["command"],
        first=bool(values["first"]),
    )  # fmt: skip


WRITERS: dict[str, Callable[[Values], Message]] = {
    n.SERVER_CREATED: lambda v: vps.created_notice(v["label"], v["ip"], Decimal(v["rate"])),
    n.SERVER_ACTION: lambda v: vps.action_notice(v["label"], v["done"], v["slack_user"]),
    n.SERVER_DELETED: lambda v: vps.deleted_notice(v["label"], v["slack_user"]),
    n.SERVER_MISSING: lambda v: vps.missing_notice(v["label"], Decimal(v["final_charge"])),
    n.SERVER_ABANDONED: lambda v: vps.abandoned_notice(v["label"], _money(v, "refunded")),
    n.SERVERS_ALERT: lambda v: vps.staff_alert(v["title"], list(v["lines"])),
    n.PAYMENTS_ALERT: lambda v: payments.staff_alert(v["title"], list(v["lines"])),
    n.TOPUP_COMPLETED_DM: lambda v: payments.topup_completed_dm(*_topup(v), v["org_name"]),
    n.TOPUP_COMPLETED_CHANNEL: lambda v: payments.topup_completed_channel(*_topup(v), v["org_name"], v["slack_user"]),
    n.TOPUP_PENDING_DM: lambda v: payments.topup_pending_dm(Decimal(v["amount"]), v["currency"], v["reason"]),
    n.TOPUP_FAILED_DM: lambda v: payments.topup_failed_dm(Decimal(v["amount"]), v["currency"], v["command"]),
    n.TOPUP_REFUNDED_CHANNEL: lambda v: payments.refund_channel(*_topup(v), v["org_name"], v["reversal"]),
    n.ARREARS: _arrears,
    n.POWER_OFF: lambda v: billing.power_off_notice(v["org_name"], v["label"], v["command"]),
}


def written(payload: Message) -> Message:
    """The Slack message a queued payload stands for: a notice written now, anything else as it is."""
    kind = payload.get(n.NOTICE)
    if kind is None:
        return payload
    writer = WRITERS.get(kind)
    if writer is None:
        raise UnknownNotice(f"no words for notice kind {kind!r}")
    return writer(payload.get("values") or {})

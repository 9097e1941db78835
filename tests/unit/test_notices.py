"""Queued notices: every kind a service can queue has words, survives the trip through JSON (the
outbox's jsonb) and reads exactly as the rendering function would have written it at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.rendering import billing, notices, payments, vps
from bot.services import notices as n

WHEN = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
SAMPLES = [
    (n.server_created("web-1", "203.0.113.5", Decimal("0.0082")), vps.created_notice("web-1", "203.0.113.5",
                                                                                     Decimal("0.0082"))),
    (n.server_action("web-<1>", "stopped", "U1"), vps.action_notice("web-<1>", "stopped", "U1")),
    (n.server_deleted("web-1", "U1"), vps.deleted_notice("web-1", "U1")),
    (n.server_missing("gone-1", Decimal("0.20")), vps.missing_notice("gone-1", Decimal("0.20"))),
    (n.server_abandoned("never-1", None), vps.abandoned_notice("never-1", None)),
    (n.server_abandoned("never-1", Decimal("0.01")), vps.abandoned_notice("never-1", Decimal("0.01"))),
    (n.servers_alert("Linode token", ["a", "b & c"]), vps.staff_alert("Linode token", ["a", "b & c"])),
    (n.payments_alert("Refund", ["x"]), payments.staff_alert("Refund", ["x"])),
    (n.topup_completed_dm(Decimal("10"), "USD", Decimal("12.50"), "Acme"),
     payments.topup_completed_dm(Decimal("10"), "USD", Decimal("12.50"), "Acme")),
    (n.topup_completed_channel(Decimal("10"), "EUR", Decimal("1"), "Acme", None),
     payments.topup_completed_channel(Decimal("10"), "EUR", Decimal("1"), "Acme", None)),
    (n.topup_pending_dm(Decimal("5"), "USD", "ECHECK"), payments.topup_pending_dm(Decimal("5"), "USD", "ECHECK")),
    (n.topup_failed_dm(Decimal("5"), "USD", "/cs"), payments.topup_failed_dm(Decimal("5"), "USD", "/cs")),
    (n.topup_refunded_channel(Decimal("5"), "USD", Decimal("-1.00"), "Acme", reversal=True),
     payments.refund_channel(Decimal("5"), "USD", Decimal("-1.00"), "Acme", True)),
    (n.arrears(org_name="Acme", amount_owed=Decimal("3.10"), currency="USD", hours_owed=4, servers=2,
               power_off_at=WHEN, command="/cs", first=True),
     billing.arrears_notice(org_name="Acme", amount_owed=Decimal("3.10"), currency="USD", hours_owed=4, servers=2,
                            power_off_at=WHEN, command="/cs", first=True)),
    (n.power_off("Acme", "web-1", "/cs"), billing.power_off_notice("Acme", "web-1", "/cs")),
]  # fmt: skip


@pytest.mark.parametrize(("queued", "expected"), SAMPLES, ids=[s[0][n.NOTICE] + str(i) for i, s in enumerate(SAMPLES)])
def test_a_queued_notice_reads_as_its_rendering(queued: dict, expected: dict) -> None:
    stored = json.loads(json.dumps(queued))  # what jsonb gives back
    assert notices.written(stored) == expected


def test_every_kind_a_service_can_queue_has_words() -> None:
    kinds = {value for name, value in vars(n).items() if name.isupper() and name != "NOTICE"}
    assert kinds == set(notices.WRITERS)
    assert {sample[0][n.NOTICE] for sample in SAMPLES} == kinds


def test_a_ready_message_is_sent_as_it_is_and_an_unknown_kind_is_an_error() -> None:
    ready = {"text": "hello", "blocks": []}
    assert notices.written(ready) is ready
    with pytest.raises(notices.UnknownNotice):
        notices.written({n.NOTICE: "from.a.newer.replica", "values": {}})

"""Every renderer, at the sizes that broke it, produces a payload Slack accepts.

Each case drives one renderer with realistic large data (long names full of `&<>`, which escaping
makes five times longer; hundreds of rows) and validates the result with the strict emulator's own
Block Kit validator, as Slack would: block counts and text limits, the 40,000-character fallback
`text`, and — for what the bot posts with chat.postMessage — the ~12,000 characters of block text
Slack takes in one message. A cut list must say how many more there are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.db.billing import ArrearsState
from bot.db.billing_reports import OrgFigures, ServerSpend
from bot.db.bindings import BindingRow
from bot.db.home import ServerRow as HomeServer
from bot.db.home import TicketRow as HomeTicket
from bot.db.home import WalletRow
from bot.db.identities import MembershipRow
from bot.db.ledger import TransactionRow
from bot.db.orgs import MemberRow
from bot.db.paypal_events import InboxSummary
from bot.db.tickets import ReplyRow, TicketRow
from bot.emulators.slack.blockkit import MESSAGE_TEXT_MAX, message_problems, view_problems
from bot.rendering import admin_payments, billing, help, home, identity, orgs, payments, tickets, vps, wallet
from bot.rendering.fit import MESSAGE_BLOCKS_TEXT, blocks_text
from bot.services.admin_payments import PaymentsOverview
from bot.services.bindings import BindingList
from bot.services.home import BindingSummary, HomeButtons, OrgSwitcher, ServerSummary, TicketSummary
from bot.services.identity import OrgContext, SlackRef
from bot.services.linking import LinkedAccount
from bot.services.orgs import MemberList, OrgEntry, OrgListing, UnknownOrganization
from bot.services.paging import Span
from bot.services.permissions import OrgRole
from bot.services.summaries import AdminBillingOverview, MonthUsage
from bot.services.summaries import OrgSummary as BillingSummary
from bot.services.tickets import REPLY_MAX_BYTES, TicketList
from bot.services.vps import PlanView, ServerList, ServerView
from bot.services.vps_create import CreateForm, StackScriptChoice
from bot.services.wallet import Burn, HistoryPage, WalletCard

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
COMMAND = "/cs"


def nasty(n: int) -> str:
    """`n` characters of what escaping makes five times longer (and a mention that must stay inert)."""
    return ("&<>" * (n // 3 + 1))[:n]


def name(n: int = 255, i: int = 0) -> str:
    return f"N{i} " + nasty(n - len(f"N{i} "))


ORG = OrgContext(uuid.uuid4(), name(), "acme-hosting", OrgRole.OWNER)


def ticket(i: int = 0, *, subject: int = 500, message: int = 40) -> TicketRow:
    return TicketRow(
        id=uuid.uuid4(), organization_id=ORG.id, organization_name=name(255, i), created_by=uuid.uuid4(),
        requester_name=name(255, i), requester_email=f"{nasty(200)}@example.com", subject=name(subject, i),
        message=nasty(message), status="open", priority="high", category=nasty(100), has_staff_reply=False,
        created_at=NOW - timedelta(days=i), updated_at=NOW, last_activity=NOW, assignee_id=None,
        assignee_name=name(), root_hash="h",
    )  # fmt: skip


def reply(text: str, *, staff: bool = False) -> ReplyRow:
    return ReplyRow(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), name(), text, staff, NOW)


def event(i: int, status: str = "failed") -> InboxSummary:
    return InboxSummary(
        event_id=f"WH-{i:04d}-{uuid.uuid4().hex[:20]}", event_type="PAYMENT.CAPTURE.COMPLETED", resource_id="r",
        status=status, attempts=10, deliveries=2, outcome=None, last_error="ConnectionError: " + nasty(180),
        received_at=NOW,
    )  # fmt: skip


def plan(i: int) -> PlanView:
    return PlanView(uuid.uuid4(), name(120, i), f"g6-standard-{i}", Decimal("0.0342"), Decimal("25"), "us-east", {})


def server(i: int) -> ServerView:
    return ServerView(
        uuid.uuid4(), f"web-{i}-" + nasty(56), "running", "203.0.113.5", "p", name(120, i), "us-east", "debian",
        Decimal("0.0342"), i, NOW, NOW,
    )  # fmt: skip


def figures() -> OrgFigures:
    return OrgFigures(ORG.id, name(), "USD", Decimal("12"), Decimal("1.5"), Decimal("50"), Decimal("3"), 2)


def spend(n: int) -> list[ServerSpend]:
    return [ServerSpend(uuid.uuid4(), name(255, i), 24, Decimal("0.82")) for i in range(n)]


def arrears(n: int) -> list[ArrearsState]:
    return [
        ArrearsState(uuid.uuid4(), name(255, i), NOW, 1, Decimal("12.50"), 4, 2, "USD", Decimal("-1")) for i in range(n)
    ]


def ledger(n: int) -> list[TransactionRow]:
    description = "VPS Hourly Billing - " + nasty(200)
    row = (Decimal("-0.03"), "USD", "wallet_debit", "internal", None, "completed", description, {}, NOW)
    return [TransactionRow(uuid.uuid4(), ORG.id, *row) for _ in range(n)]


def page(count: int, total: int) -> Span:
    return Span(offset=0, limit=count, total=total, count=count)


def home_sections(orgs_count: int, *, staff: bool = False) -> list[list[dict[str, Any]]]:
    """Every section of a Home at scale, as `bot.slack.home.build_home` puts them together."""
    memberships = [MembershipRow(uuid.uuid4(), name(255, i), f"org-{i:03d}-" + "x" * 60, "member")
                   for i in range(min(orgs_count, 100))]  # fmt: skip
    switcher = OrgSwitcher(memberships, orgs_count, ORG, None if staff else "owner", staff)
    buttons = HomeButtons(ORG.id, top_up=True, create_server=True, panel_url="https://panel.example.com")
    return [
        home.render_switcher(switcher, COMMAND),
        home.render_buttons(buttons),
        home.render_wallet(WalletRow(Decimal("1234.50"), "USD")),
        home.render_servers(ServerSummary([HomeServer(name(255, i), "running", "203.0.113.5") for i in range(10)], 250),
                            COMMAND),
        home.render_tickets(TicketSummary([HomeTicket(uuid.uuid4(), name(500, i), "open", "high") for i in range(5)],
                                          100), COMMAND),
        home.render_bindings(BindingSummary([BindingRow("T1", f"C{i:08d}", ORG.id, ORG.name, True, True, True)
                                             for i in range(10)], 80),
                             COMMAND),
    ]  # fmt: skip


def stackscripts(n: int) -> list[StackScriptChoice]:
    fields = tuple({"name": f"FIELD_{j}_" + "X" * 20, "oneOf": "a,b,c,d,e,f"} for j in range(12))
    return [StackScriptChoice(i, f"Script {i}", None, ("linode/debian12",), fields) for i in range(n)]


#: (name, how Slack receives it, renderer call, text a cut list must show or None)
#: "posted": chat.postMessage through the outbox; "answer": a command's answer; "home"/"modal": a view.
CASES: list[tuple[str, str, Callable[[], Any], str | None]] = [
    ("vps.render_plans 40 plans", "answer", lambda: vps.render_plans([plan(i) for i in range(40)]), None),
    ("vps.render_plans 60 plans", "answer", lambda: vps.render_plans([plan(i) for i in range(60)]), None),
    ("vps.render_server_list 250 servers", "answer",
     lambda: vps.render_server_list(ServerList(name(), [server(i) for i in range(15)], True, ORG.id,
                                               page(15, 250)), COMMAND), "1–15 of 250"),
    ("vps.create_modal 30 StackScripts", "modal",
     lambda: vps.create_modal(CreateForm(plans=[plan(i) for i in range(60)], regions=[("us-east", "Newark")] * 3,
                                         images=[("linode/debian12", "Debian 12")], stackscripts=stackscripts(30),
                                         organization=name(), balance=Decimal("5"), currency="USD"),
                              metadata="{}"), None),
    ("vps.staff_alert long lines", "posted", lambda: vps.staff_alert(nasty(900), [nasty(5000)] * 10), None),
    ("orgs.render_bindings 80 channels", "answer",
     lambda: orgs.render_bindings(BindingList(ORG, [BindingRow("T1", f"C{i:08d}", ORG.id, ORG.name, True, True, True)
                                                    for i in range(25)], page(25, 80)), COMMAND), "1–25 of 80"),
    ("orgs.render_org_list 60 organisations", "answer",
     lambda: orgs.render_org_list(OrgListing([OrgEntry(name(255, i), f"org-{i}", "member", i == 0)
                                              for i in range(25)], False, page(25, 60)), COMMAND), "1–25 of 60"),
    ("orgs.render_org_list staff in 500", "answer",
     lambda: orgs.render_org_list(OrgListing([OrgEntry(name(255, i), f"org-{i}-" + "s" * 200, "admin", i == 0)
                                              for i in range(25)], True, page(25, 500)), COMMAND), "1–25 of 500"),
    ("orgs.render_members 300 members", "answer",
     lambda: orgs.render_members(MemberList(ORG, [MemberRow(uuid.uuid4(), name(255, i), f"{nasty(60)}@example.com",
                                                            "member", ("U0123ABCD",)) for i in range(25)],
                                            page(25, 300)), COMMAND), "1–25 of 300"),
    ("orgs.render_members 1,500 members", "answer",
     lambda: orgs.render_members(MemberList(ORG, [MemberRow(uuid.uuid4(), f"Member {i}", f"m{i}@example.com",
                                                            "member", ()) for i in range(25)], page(25, 1500)),
                                 COMMAND), "1–25 of 1,500"),
    ("orgs use <unknown> for staff in 500", "answer",
     lambda: identity.render_refusal(UnknownOrganization(nasty(3000), [f"org-{i}-" + "s" * 200 for i in range(500)],
                                                         COMMAND).message), "…and 490 more"),
    ("identity.render_linked_dm 60 invites", "posted",
     lambda: identity.render_linked_dm(LinkedAccount(SlackRef("", "T1", "U1"), uuid.uuid4(), name(), "a@b.c",
                                                     "password", tuple((name(255, i), "member") for i in range(60))),
                                       command=COMMAND), "…and 41 more"),
    ("identity.render_refusal 5,000 characters", "answer", lambda: identity.render_refusal(nasty(5000)), None),
    ("help.render_unknown_command 4,000 characters", "answer",
     lambda: help.render_unknown_command(COMMAND, nasty(4000), []), None),
    ("tickets.render_list 15 tickets, 200-character subjects", "answer",
     lambda: tickets.render_list(TicketList(ORG.id, name(), [ticket(i, subject=200) for i in range(15)],
                                            page(15, 100)), COMMAND), "1–15 of 100"),
    ("tickets.render_list 15 tickets, 500-character subjects", "answer",
     lambda: tickets.render_list(TicketList(ORG.id, name(), [ticket(i) for i in range(15)], page(15, 100)), COMMAND),
     None),
    ("tickets.render_digest long labels", "posted",
     lambda: tickets.render_digest({"under_1d": 40, "d1_3": 30, "d3_7": 20, "over_7d": 10},
                                   [ticket(i) for i in range(10)]), "…and 90 more"),
    ("tickets.render_conversation opening of 700 &", "answer",
     lambda: tickets.render_conversation(ticket(message=700), [], COMMAND), None),
    ("tickets.render_conversation long opening and 30 long replies", "answer",
     lambda: tickets.render_conversation(ticket(message=20000), [reply(nasty(7000)) for _ in range(30)], COMMAND),
     "earlier replies not shown"),
    ("tickets.render_card 600 &", "posted", lambda: tickets.render_card(replace(ticket(), message="&" * 600)), None),
    ("tickets.render_card long everything", "posted", lambda: tickets.render_card(ticket(message=20000)), None),
    ("tickets.render_sla_reminder long labels", "posted",
     lambda: tickets.render_sla_reminder(ticket(), 4, None, "1.2"), None),
    ("tickets.render_reply_posts 2,900 characters with &<", "posted",
     lambda: tickets.render_reply_posts("triage", reply("&<" * 1450), "1.2"), None),
    ("tickets.render_reply_posts the longest storable reply of &", "posted",
     lambda: tickets.render_reply_posts("requester", reply("&" * REPLY_MAX_BYTES, staff=True), "1.2"), None),
    ("admin_payments 15 events with 180-character errors", "answer",
     lambda: admin_payments.render_payments_overview(
         PaymentsOverview([event(i, "processed") for i in range(15)], [event(i) for i in range(10)], 300,
                          page(15, 500)), COMMAND),
     "…and 290 more"),
    ("billing.daily_summary long labels", "posted",
     lambda: billing.daily_summary(BillingSummary(figures(), spend(40), NOW - timedelta(days=1), NOW), COMMAND),
     "…and 25 more servers"),
    ("billing.month_usage_card long labels", "answer",
     lambda: billing.month_usage_card(MonthUsage(BillingSummary(figures(), spend(40), NOW, NOW), NOW), COMMAND),
     "…and 25 more servers"),
    ("billing.weekly_staff_summary 60 organisations in arrears", "posted",
     lambda: billing.weekly_staff_summary(NOW, NOW, {"topup_count": 1, "topup_total": "2", "charge_hours": 3,
                                                     "charge_total": "4", "failed_hours": 5, "webhook_failures": 6,
                                                     "webhooks_dead": 7}, arrears(60)), "…and 40 more"),
    ("billing.admin_billing_card 60 organisations in arrears", "answer",
     lambda: billing.admin_billing_card(AdminBillingOverview(None, arrears(60), {"charge_hours": 1, "charge_total": "1",
                                                                               "topup_count": 1, "topup_total": "1"},
                                                             NOW)), "…and 40 more"),
    ("payments.staff_alert long lines", "posted", lambda: payments.staff_alert(nasty(900), [nasty(5000)] * 10), None),
    ("wallet.render_wallet_card 10 rows of &", "answer",
     lambda: wallet.render_wallet_card(WalletCard(ORG, Decimal("3"), "USD", Burn(Decimal("1"), 250, 3), None,
                                                  ledger(10)), COMMAND), None),
    ("wallet.render_history 100 rows of &", "answer",
     lambda: wallet.render_history(HistoryPage(ORG, "USD", ledger(25), page(25, 1000))), "1–25 of 1,000"),
    ("home.render_home user in 50 organisations", "home",
     lambda: home.render_home(home_sections(50), COMMAND), "10 of 250 servers"),
    ("home.render_home staff in 500 organisations", "home",
     lambda: home.render_home(home_sections(500, staff=True), COMMAND), "10 of 80 channels"),
]  # fmt: skip


def problems(payload: dict[str, Any], how: str) -> list[str]:
    """What Slack would refuse in `payload`, received as `how`."""
    if how in ("home", "modal"):
        return view_problems(payload, how)
    found = message_problems(payload.get("blocks", []))
    if len(str(payload.get("text") or "")) > MESSAGE_TEXT_MAX:
        found.append("msg_too_long: the fallback text is over 40,000 characters")
    if how == "posted" and blocks_text(payload.get("blocks", [])) > MESSAGE_BLOCKS_TEXT:
        found.append(f"msg_blocks_too_long: {blocks_text(payload['blocks']):,} characters of block text")
    return found


@pytest.mark.parametrize(("name", "how", "render", "more"), CASES, ids=[case[0] for case in CASES])
def test_renderer_at_scale_makes_a_payload_slack_accepts(
    name: str, how: str, render: Callable[[], Any], more: str | None
) -> None:
    result = render()
    payloads = result if isinstance(result, list) else [result]
    for payload in payloads:
        assert problems(payload, how) == [], name
        assert "<!channel>" not in str(payload) and "<@U123>" not in str(payload)
    if more is not None:
        assert more in str(payloads), f"{name} cuts its list without saying how many more"


def test_a_long_reply_is_mirrored_whole_in_several_posts_in_order() -> None:
    text = "".join(f"word{i} &<> " for i in range(900))  # ~10,000 characters, ~22,000 once escaped
    posts = tickets.render_reply_posts("triage", reply(text), "1.2")
    assert len(posts) > 1
    body = " ".join(b["text"]["text"] for p in posts for b in p["blocks"] if b["type"] == "section")
    for i in (0, 450, 899):
        assert f"word{i} &amp;&lt;&gt;" in body
    assert body.index("word0 ") < body.index("word450 ") < body.index("word899 ")
    assert [p["blocks"][-1]["elements"][0]["text"] for p in posts][
        -1
    ] == f"Part {len(posts)} of {len(posts)} of one reply."


def test_a_short_reply_is_one_post_as_before() -> None:
    (post,) = tickets.render_reply_posts("triage", reply("Thanks, it works & boots again"), "1.2")
    assert len(post["blocks"]) == 1
    assert post["blocks"][0]["text"]["text"].endswith("(customer)\nThanks, it works &amp; boots again")

"""Every Slack renderer keeps user-written text inert: in its blocks and in its fallback `text`.

The fallback `text` is what notifications show, and Slack parses it as mrkdwn, so a ticket subject
like `<!channel>` there pings everyone and `<https://evil|bank>` disguises a link. The sweep builds
every renderer's arguments from its type hints, with hostile text wherever a value can come from a
user or the panel, and checks every piece of mrkdwn in the result. A renderer added later is swept
too: one whose arguments cannot be built fails here until it is taught how.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import pkgutil
import sys
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

import bot.rendering
from bot.commands import CommandSpec
from bot.rendering.escape import Mrkdwn, code, escape_mrkdwn, mrkdwn
from bot.services.arrears import OrganisationOwes, Owed
from tests.hostile import HOSTILE, live_markup

#: Modules of HTML pages (escaped as HTML, tested with the pages) and of helpers without messages.
NOT_SLACK = {"bot.rendering.pages", "bot.rendering.payment_pages", "bot.rendering.escape", "bot.rendering.fit",
             "bot.rendering.charts"}  # charts: PNG images, no text Slack parses  # fmt: skip
#: Parameters that are ours, not user text: Slack ids, URLs we built, the configured command,
#: markup the caller composed (documented as already escaped), values the schema constrains.
TRUSTED = {
    "command": "/cs",
    "url": "https://bot.example/link/abc",
    "link_url": "https://example.slack.com/archives/C1/p1",
    "buyer_url": "https://www.paypal.com/checkoutnow?token=EC-1",
    "slack_user": "U0SLACK01",
    "assignee_slack_id": "U0SLACK02",
    "inviter_slack_user_id": "U0SLACK03",
    "invitee_slack_user_id": "U0SLACK04",
    "target_slack_user_id": "U0SLACK05",
    "slack_user_ids": ("U0SLACK06",),
    "channel_id": "C0CHAN01",
    "support_channel": "C0CHAN02",
    "thread_ts": "1700000000.000100",
    "message_ts": "1700000000.000200",
    "response_url": "https://hooks.slack.com/actions/T1/1/x",
    "server_id": "3f2c8f5e-1111-4222-8333-944445555666",
    "ref": "ERR-7KQ2M9XA",
    "text": "Already *escaped* mrkdwn from the caller",
    "intro": "Already *escaped* mrkdwn from the caller",
    "kind": "triage",
    "status": "open",
    "priority": "high",
    "role": "admin",
    "target_role": "admin",
    "new_role": "owner",
    "old_role": "member",
    "currency": "USD",
    "linode_type": "g6-standard-1",
    "old": "open",
    "new": "resolved",
    "kinds": ("billing", "vps"),
}
#: Commands are ours (the grammar table), with `<angle brackets>` in their usage.
COMMAND = CommandSpec(("wallet", "topup"), "wallet topup <amount>", "Add funds with PayPal.", "Wallet")
#: Arguments whose shape the type hints cannot tell.
SHAPED: dict[tuple[str, str], Any] = {
    ("render_help", "groups"): {"Wallet": [COMMAND]},
    ("render_owed", "refusal"): OrganisationOwes(
        Owed(uuid.uuid4(), amount=Decimal("3.20"), hours=4, balance=Decimal("-1.00"), currency="USD"),
        organization=HOSTILE,
        command="/cs",
    ),
    ("render_refusal_view", "message"): {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "no"}}]},
    ("render_unknown_command", "suggestions"): [COMMAND],
    ("TransactionRow", "created_at"): datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    ("render_digest", "counts"): {"under_1d": 1, "d1_3": 2, "d3_7": 3, "over_7d": 4},
    ("render_settings", "sla_hours"): {"urgent": 1, "high": 4, "medium": 24, "low": 72},
    ("weekly_staff_summary", "totals"): {
        "topup_count": 1,
        "topup_total": "25.00",
        "charge_hours": 3,
        "charge_total": "0.09",
        "failed_hours": 0,
        "webhook_failures": 0,
        "webhooks_dead": 0,
    },
    ("AdminBillingOverview", "last_run"): {
        "finished_at": datetime(2026, 1, 2, tzinfo=UTC),
        "run_at": datetime(2026, 1, 2, tzinfo=UTC),
        "source": "scheduler",
        "hours_charged": 2,
        "amount_charged": "0.05",
        "hours_failed": 1,
    },
    ("AdminBillingOverview", "totals"): {"charge_hours": 1, "charge_total": "1", "topup_count": 1, "topup_total": "1"},
    ("power_confirm", "verb"): "stop",  # one of our verbs (the label is the user's text)
    ("render_sla_batch", "overdue[2]"): "U0SLACK02",  # the assignee's Slack id, from the bot's own identities
}


def _hint_namespace() -> dict[str, Any]:
    """Names the renderers import only for type checking (so their hints can be resolved here)."""
    from bot.db.billing import ArrearsState
    from bot.db.invoices import InvoiceRow, LedgerRow
    from bot.services.invoices import Made
    from bot.services.server_backups import BackupList, Offer
    from bot.services.server_network import FirewallChoice
    from bot.services.server_page import BackupPrice, ServerPage
    from bot.services.server_stats import Stats
    from bot.services.summaries import AdminBillingOverview, MonthUsage, OrgSummary
    from bot.services.tickets import TicketList
    from bot.services.vps import PlanView, ServerList, ServerView
    from bot.services.vps_actions import ResizePreview
    from bot.services.vps_create import CreateCatalogue, CreateForm

    server_page = {"InvoiceRow": InvoiceRow, "LedgerRow": LedgerRow, "Made": Made, "BackupList": BackupList,
                   "Offer": Offer, "FirewallChoice": FirewallChoice, "BackupPrice": BackupPrice,
                   "ServerPage": ServerPage, "Stats": Stats}  # fmt: skip
    return {**server_page,
        "ArrearsState": ArrearsState, "AdminBillingOverview": AdminBillingOverview, "MonthUsage": MonthUsage,
        "OrgSummary": OrgSummary, "PlanView": PlanView, "ServerList": ServerList, "ServerView": ServerView,
        "ResizePreview": ResizePreview, "CreateForm": CreateForm, "TicketList": TicketList,
        "CreateCatalogue": CreateCatalogue,
    }  # fmt: skip


def _hints(target: Callable[..., Any]) -> dict[str, Any]:
    own = vars(sys.modules[target.__module__])
    missing = {name: value for name, value in _hint_namespace().items() if name not in own}
    return typing.get_type_hints(target, localns=missing)


def build(hint: Any, name: str, owner: str) -> Any:
    """A value of type `hint` for the parameter or field `name`: hostile wherever text can be a user's."""
    if (owner, name) in SHAPED:
        return SHAPED[(owner, name)]
    if name in TRUSTED:
        return TRUSTED[name]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return build(next(a for a in args if a is not type(None)), name, owner)
    if origin is typing.Literal:
        return args[0]
    if origin in (list, Sequence, set, frozenset):
        return [build(args[0], name, owner)] if args else []
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (build(args[0], name, owner),)
        return tuple(build(a, f"{name}[{i}]", owner) for i, a in enumerate(args))
    if origin in (dict, Mapping):
        key, value = args or (str, Any)
        return {} if value is Any else {build(key, name, owner): build(value, name, owner)}
    return _scalar(hint, name)


def _scalar(hint: Any, name: str) -> Any:
    if hint is str or hint is object or hint is Any:
        return HOSTILE
    if hint is bool:
        return True
    if hint is int:
        return 3
    if hint is float:
        return 1.5
    if hint is Decimal:
        return Decimal("12.50")
    if hint is datetime:
        return datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    if hint is date:
        return date(2026, 1, 2)
    if hint is uuid.UUID:
        return uuid.UUID("12345678-1234-4234-8234-123456789abc")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    if dataclasses.is_dataclass(hint):
        fields = _hints(hint)
        return hint(**{f.name: build(fields[f.name], f.name, hint.__name__) for f in dataclasses.fields(hint)})
    raise TypeError(f"the sweep cannot build a {hint!r} for {name!r}: teach `build` (or SHAPED) about it")


def renderers() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public function of every Slack rendering module, and the methods of its message classes."""
    for info in pkgutil.iter_modules(bot.rendering.__path__):
        module = importlib.import_module(f"bot.rendering.{info.name}")
        if module.__name__ in NOT_SLACK:
            continue
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                yield f"{info.name}.{name}", value
            elif inspect.isclass(value) and not dataclasses.is_dataclass(value) and not issubclass(value, Exception):
                instance = value(**{p: build(h, p, name) for p, h in _hints(value.__init__).items() if p != "return"})
                for method, function in inspect.getmembers(instance, inspect.ismethod):
                    if not method.startswith("_"):
                        yield f"{info.name}.{name}.{method}", function


def call(function: Callable[..., Any]) -> Any:
    hints = _hints(function)
    owner = function.__name__
    arguments = {
        p.name: build(hints[p.name], p.name, owner)
        for p in inspect.signature(function).parameters.values()
        if p.name != "self"
    }
    return function(**arguments)


SWEPT = sorted(renderers(), key=lambda item: item[0])


@pytest.mark.parametrize(("name", "function"), SWEPT, ids=[name for name, _ in SWEPT])
def test_renderer_keeps_hostile_user_text_inert_in_blocks_and_fallback(name: str, function: Callable[..., Any]) -> None:
    result = call(function)
    messages = result if isinstance(result, list) else [result]  # a long text can take several posts
    for message in messages:
        if not isinstance(message, dict):
            return  # a value for a button, a parsed submission: not a message
        live = live_markup(message)
        assert not live, f"{name} lets user text become markup: {live}"
        if "blocks" in message and message.get("type") is None:
            assert isinstance(message.get("text"), str) and message["text"], f"{name} has blocks but no fallback text"


def test_the_sweep_reaches_the_messages_that_carry_user_text() -> None:
    swept = {name for name, _ in SWEPT}
    expected = {
        "tickets.render_card", "tickets.render_reply_posts", "tickets.render_requester_root",
        "tickets.render_conversation", "tickets.render_list", "vps.render_server", "vps.staff_alert",
        "payments.staff_alert", "orgs.DirectMessages.invited", "home.render_home", "billing.daily_summary",
        "wallet.render_wallet_card", "help.render_help",
    }  # fmt: skip
    assert expected <= swept


def test_hostile_fallback_reads_the_same_once_slack_unescapes_it() -> None:
    text = mrkdwn("Ticket {id}: {subject}", id=code("abc"), subject=HOSTILE)
    assert text == "Ticket `abc`: " + escape_mrkdwn(HOSTILE)
    assert escape_mrkdwn(text) is text and isinstance(text, Mrkdwn)  # never escaped twice

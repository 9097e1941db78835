"""Block Kit for billing: arrears and power-off notices, run reports, summaries, `/cs billing` (pure)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.money import format_money
from bot.panel_links import PanelLinks
from bot.rendering.dates import local_time
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.fit import clip_user_text, lines_message, more_line
from bot.rendering.panel import panel_button

if TYPE_CHECKING:
    from bot.db.billing import ArrearsState
    from bot.services.summaries import AdminBillingOverview, MonthUsage, OrgSummary


#: Server labels and organisation names within one line of a summary, escaped.
LABEL_IN_LINE = 100
NAME_IN_LINE = 200
SHOWN_SERVERS = 15
SHOWN_ARREARS = 20
MORE_SPEND = "`{command} wallet history` lists every charge"
MORE_ARREARS = "the oldest debts are listed"


def _message(text: str, *, context: str | None = None, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    message = lines_message(text, context=context)
    if accessory:
        message["blocks"][0]["accessory"] = accessory
    return message


def _when(value: datetime) -> str:
    """A report's period boundary, stated in UTC as the period is defined (reports, not moments)."""
    return value.strftime("%Y-%m-%d %H:%M UTC")


def arrears_notice(
    *, org_name: str, amount_owed: Decimal, currency: str, hours_owed: int, servers: int, power_off_at: datetime,
    command: str, first: bool,
) -> dict[str, Any]:  # fmt: skip
    lead = ":warning: Hourly billing failed" if first else ":warning: Still unpaid"
    owed = format_money(amount_owed, currency)
    if hours_owed:
        what = f"the wallet cannot pay {hours_owed} server hour(s) ({owed}) on {servers} server(s)"
    else:
        what = f"the wallet is below zero: {owed} is owed"
    return _message(
        f"{lead} for *{escape_mrkdwn(org_name)}*: {what}. "
        f"Top up with `{command} wallet topup`; "
        f"the unpaid hours are collected automatically. Servers still unpaid at {local_time(power_off_at)} "
        "will be powered off (never deleted).",
        context="ContainerStacks billing",
    )


def power_off_notice(org_name: str, label: str, command: str) -> dict[str, Any]:
    return _message(
        f":octagonal_sign: Server *{escape_mrkdwn(label)}* of *{escape_mrkdwn(org_name)}* is being powered off: "
        f"the organisation owes money past the grace period. Nothing is deleted. Top up with "
        f"`{command} wallet topup`, then power it on again; until the debt is paid, a server started again is "
        "powered off at the next billing run.",
        context="ContainerStacks billing",
    )


def _arrears_line(a: ArrearsState) -> str:
    owed = format_money(a.amount_owed, a.currency)
    return f"• {clip_user_text(a.name, NAME_IN_LINE)}: {owed} ({a.hours_owed} h) since {local_time(a.since)}"


def _runway(days: Decimal | None) -> str:
    if days is None:
        return "no running servers"
    return f"about {days.quantize(Decimal('0.1'))} days"


def daily_summary(summary: OrgSummary, command: str) -> dict[str, Any]:
    f = summary.figures
    lines = [
        f":bar_chart: *Billing summary for {clip_user_text(f.name, NAME_IN_LINE)}* "
        f"({_when(summary.start)} → {_when(summary.end)})",
        f"Spend: *{format_money(summary.total_spend, f.currency)}*",
        *_spend_lines(summary, command),
    ]
    lines.append(f"Top-ups: {format_money(f.topups, f.currency)}")
    lines.append(
        f"Balance: *{format_money(f.balance, f.currency)}* · burn {format_money(summary.daily_burn, f.currency)}/day "
        f"· runway {_runway(summary.runway_days)}"
    )
    if f.hours_owed:
        lines.append(
            f":warning: Arrears: {format_money(f.owed, f.currency)} ({f.hours_owed} unpaid hours) — "
            f"top up with `{command} wallet topup`."
        )
    return _message("\n".join(lines), context="ContainerStacks billing")


def weekly_staff_summary(
    start: datetime, end: datetime, totals: dict[str, Any], arrears: list[ArrearsState]
) -> dict[str, Any]:
    lines = [
        f":ledger: *Weekly billing summary* ({_when(start)} → {_when(end)})",
        f"Top-ups: {totals['topup_count']} totalling {format_money(Decimal(totals['topup_total']))}",
        f"Charges: {totals['charge_hours']} server-hours totalling {format_money(Decimal(totals['charge_total']))}",
        f"Failed charges: {totals['failed_hours']} hour(s) could not be paid",
        f"Webhook failures: {totals['webhook_failures']} in the period ({totals['webhooks_dead']} dead in all)",
        f"Organisations in arrears: {len(arrears)}",
    ]
    lines += _arrears_lines(arrears)
    return _message("\n".join(lines), context="ContainerStacks billing")


def _ephemeral(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"response_type": "ephemeral", **_message(text, accessory=accessory)}


def _spend_lines(summary: OrgSummary, command: str) -> list[str]:
    currency = summary.figures.currency
    lines = [
        f"• {clip_user_text(s.label, LABEL_IN_LINE)}: {format_money(s.amount, currency)} ({s.hours} h)"
        for s in summary.spend[:SHOWN_SERVERS]
    ]
    if len(summary.spend) > SHOWN_SERVERS:
        hidden = len(summary.spend) - SHOWN_SERVERS
        lines.append(f"• …and {hidden:,} more servers — {MORE_SPEND.format(command=command)}")
    return lines


def _arrears_lines(arrears: list[ArrearsState]) -> list[str]:
    lines = [_arrears_line(a) for a in arrears[:SHOWN_ARREARS]]
    if len(arrears) > SHOWN_ARREARS:
        lines.append("• " + more_line(len(arrears) - SHOWN_ARREARS, MORE_ARREARS))
    return lines


def month_usage_card(usage: MonthUsage, command: str = "/cs", *, panel: PanelLinks | None = None) -> dict[str, Any]:
    s = usage.summary
    f = s.figures
    lines = [
        f":receipt: *{clip_user_text(f.name, NAME_IN_LINE)}* — usage this month "
        "(billing months are UTC calendar months)",
        f"So far: *{format_money(s.total_spend, f.currency)}* · projected for the month: "
        f"*{format_money(usage.projection, f.currency)}* at the current burn "
        f"({format_money(s.daily_burn, f.currency)}/day)",
    ]
    lines += _spend_lines(s, command)
    lines.append(f"Balance: {format_money(f.balance, f.currency)} · runway {_runway(s.runway_days)}")
    if f.hours_owed:
        lines.append(f":warning: Arrears: {format_money(f.owed, f.currency)} ({f.hours_owed} unpaid hours)")
    return _ephemeral("\n".join(lines), panel_button(panel.billing(), "billing") if panel else None)


def admin_billing_card(overview: AdminBillingOverview) -> dict[str, Any]:
    run = overview.last_run
    if run is None:
        last = "Last run with due hours: none yet"
    else:
        last = (
            f"Last run with due hours: {local_time(run['finished_at'])} ({run['source']}, "  # type: ignore[arg-type]
            f"billed up to {local_time(run['run_at'])}): "  # type: ignore[arg-type]
            f"{run['hours_charged']} h charged, {format_money(Decimal(str(run['amount_charged'])))}, "
            f"{run['hours_failed']} h newly unpaid"
        )
    t = overview.totals
    lines = [
        ":gear: *Billing* (this month; billing months are UTC calendar months)",
        last,
        f"Charges this month: {t['charge_hours']} h, {format_money(Decimal(str(t['charge_total'])))} · "
        f"top-ups: {t['topup_count']}, {format_money(Decimal(str(t['topup_total'])))}",
        f"Organisations in arrears: {len(overview.arrears)}",
    ]
    lines += _arrears_lines(overview.arrears)
    return _ephemeral("\n".join(lines))

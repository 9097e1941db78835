"""The panel's non-table schema objects as plain data: functions, triggers and row-level security.

SQLAlchemy metadata cannot describe these, yet the bot relies on them (the `updated_at`
trigger overwrites whatever the bot writes, the notify triggers drive the panel's live views,
the RLS policy decides what a non-owner role sees). `bot.db.drift` checks a live database
against these facts; the baseline SQL (`migrations/sql/0001_panel_baseline.sql`) creates them.
Source: the schema reference §1–§3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TriggerTiming = Literal["BEFORE", "AFTER", "INSTEAD OF"]
TriggerEvent = Literal["INSERT", "UPDATE", "DELETE", "TRUNCATE"]
PolicyCommand = Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]


@dataclass(frozen=True)
class FunctionSpec:
    """A function by name and argument types (as `format_type` spells them) and result type."""

    name: str
    args: tuple[str, ...]
    returns: str
    schema: str = "public"

    @property
    def signature(self) -> str:
        """`name(type, type)`: how PostgreSQL identifies an overload."""
        return f"{self.name}({', '.join(self.args)})"


@dataclass(frozen=True)
class TriggerSpec:
    """A row or statement trigger on one table."""

    name: str
    table: str
    timing: TriggerTiming
    events: tuple[TriggerEvent, ...]
    function: str
    for_each_row: bool = True


@dataclass(frozen=True)
class PolicySpec:
    """A row-level security policy; expressions are SQL as written, compared after normalising."""

    name: str
    command: PolicyCommand
    permissive: bool
    using: str | None
    with_check: str | None = None
    roles: tuple[str, ...] = ("public",)


@dataclass(frozen=True)
class RlsSpec:
    """Row-level security state of one table."""

    table: str
    enabled: bool
    forced: bool
    policies: tuple[PolicySpec, ...]


#: Functions the panel defines in schema public.
FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("update_updated_at_column", (), "trigger"),
    FunctionSpec("notify_new_activity", (), "trigger"),
    FunctionSpec("notify_new_ticket_message", (), "trigger"),
    FunctionSpec("notify_ticket_status_change", (), "trigger"),
    FunctionSpec("mark_notification_read", ("uuid", "uuid"), "boolean"),
    FunctionSpec("mark_all_notifications_read", ("uuid",), "integer"),
)

#: Functions an extension provides (or the baseline's fallback defines): id defaults call it.
#: It may live in any schema the database resolves it from, so no schema is required.
EXTENSION_FUNCTIONS: tuple[FunctionSpec, ...] = (FunctionSpec("uuid_generate_v4", (), "uuid", schema=""),)

#: Tables whose `updated_at` is forced to now() by `update_updated_at_column()` BEFORE UPDATE.
#: vps_stackscript_configs has the column but no trigger (the panel sets it itself).
UPDATED_AT_TRIGGER_TABLES: tuple[str, ...] = (
    "users",
    "organizations",
    "wallets",
    "user_api_keys",
    "containers",
    "vps_instances",
    "support_tickets",
    "vps_plans",
    "payment_transactions",
    "container_pricing_config",
    "container_plans",
    "service_providers",
    "vps_billing_cycles",
    "networking_config",
)

TRIGGERS: tuple[TriggerSpec, ...] = (
    *(
        TriggerSpec(f"update_{table}_updated_at", table, "BEFORE", ("UPDATE",), "update_updated_at_column")
        for table in UPDATED_AT_TRIGGER_TABLES
    ),
    TriggerSpec("activity_notify_trigger", "activity_logs", "AFTER", ("INSERT",), "notify_new_activity"),
    TriggerSpec(
        "trigger_notify_ticket_message",
        "support_ticket_replies",
        "AFTER",
        ("INSERT",),
        "notify_new_ticket_message",
    ),
    TriggerSpec(
        "trigger_notify_ticket_status",
        "support_tickets",
        "AFTER",
        ("UPDATE",),
        "notify_ticket_status_change",
    ),
)

RLS: tuple[RlsSpec, ...] = (
    RlsSpec(
        table="user_api_keys",
        enabled=True,
        forced=False,
        policies=(
            PolicySpec(
                name="Users can manage their own API keys",
                command="ALL",
                permissive=True,
                using="user_id = current_setting('app.current_user_id', true)::uuid",
            ),
        ),
    ),
)

#: NOTIFY channels the panel's triggers publish on (`<uuid>` is a ticket or organisation id).
ACTIVITY_CHANNEL = "new_activity"
TICKET_CHANNEL_PREFIX = "ticket_"
ORG_TICKETS_CHANNEL_PREFIX = "org_tickets_"

#: activity_logs.event_type values that `notify_new_activity()` announces (filter from 009).
NOTIFIED_ACTIVITY_EVENTS: frozenset[str] = frozenset(
    {
        "vps.create",
        "vps.boot",
        "vps.shutdown",
        "vps.reboot",
        "vps.delete",
        "vps.backups.enable",
        "vps.backups.disable",
        "vps.backups.schedule",
        "vps.backups.snapshot",
        "vps.backups.restore",
        "vps.firewall.attach",
        "vps.firewall.detach",
        "vps.network.rdns",
        "vps.hostname.update",
        "auth.login",
        "api_key.create",
        "api_key.revoke",
        "ticket_reply",
        "user_update",
    }
)

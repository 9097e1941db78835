"""Tables owned by the bot (prefix `bot_`), added to the same metadata as the panel's tables.

The panel never reads these; they hold the bot's durable state (outbox, event dedupe).
Revision files create them explicitly; this module is what the code and the drift check use.
"""

from __future__ import annotations

from sqlalchemy import (
    NUMERIC,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID

from bot.db.panel_objects import FunctionSpec, TriggerSpec
from bot.db.schema import metadata

TZ = TIMESTAMP(timezone=True)

bot_outbox = Table(
    "bot_outbox",
    metadata,
    Column("id", BigInteger, nullable=False, server_default=text("nextval('bot_outbox_id_seq'::regclass)")),
    Column("channel", String(64), nullable=False),
    Column("kind", String(16), nullable=False, server_default=text("'post'")),
    Column("payload", JSONB, nullable=False),
    Column("dedupe_key", String(255)),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", TZ, nullable=False, server_default=text("now()")),
    Column("locked_until", TZ),
    Column("last_error", Text),
    Column("result", JSONB),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("delivered_at", TZ),
    Column("plain_fallback", Text),  # 0010: Slack's error when the blocks were dropped for plain text
    Column("enterprise_id", String(32)),  # 0014: the workspace the row is for (NULL: configured/home one)
    Column("team_id", String(32)),
    PrimaryKeyConstraint("id", name="bot_outbox_pkey"),
    UniqueConstraint("dedupe_key", name="bot_outbox_dedupe_key_key"),
    # 'upload' (revision 0012): a file shared with files.uploadV2 (a chart, an invoice); 'reaction' (0013).
    CheckConstraint("kind IN ('post', 'update', 'ephemeral', 'upload', 'reaction')", name="bot_outbox_kind_check"),
    CheckConstraint("status IN ('pending', 'sending', 'delivered', 'dead')", name="bot_outbox_status_check"),
    Index(
        "idx_bot_outbox_channel_queue",
        "channel",
        "id",
        postgresql_where=text("status IN ('pending', 'sending')"),
    ),
    Index("idx_bot_outbox_dead", "created_at", postgresql_where=text("status = 'dead'")),
)

bot_outbox_pace = Table(
    "bot_outbox_pace",
    metadata,
    Column("channel", String(64), nullable=False),
    Column("next_at", TZ, nullable=False),
    PrimaryKeyConstraint("channel", name="bot_outbox_pace_pkey"),
)

bot_slack_events = Table(
    "bot_slack_events",
    metadata,
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64)),
    Column("received_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("event_id", name="bot_slack_events_pkey"),
    Index("idx_bot_slack_events_received_at", "received_at"),
)


# -- identity and organisations (revision 0003) ---------------------------------------------------

bot_slack_identities = Table(
    "bot_slack_identities",
    metadata,
    Column("id", BigInteger, nullable=False, server_default=text("nextval('bot_slack_identities_id_seq'::regclass)")),
    Column("enterprise_id", String(32), nullable=False, server_default=text("''")),
    Column("team_id", String(32), nullable=False),
    Column("slack_user_id", String(32), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("linked_via", String(16), nullable=False),
    Column("active_organization_id", UUID(as_uuid=True)),
    Column("linked_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("id", name="bot_slack_identities_pkey"),
    UniqueConstraint("enterprise_id", "team_id", "slack_user_id", name="bot_slack_identities_slack_key"),
    ForeignKeyConstraint(["user_id"], ["users.id"], name="bot_slack_identities_user_id_fkey", ondelete="CASCADE"),
    ForeignKeyConstraint(
        ["active_organization_id"],
        ["organizations.id"],
        name="bot_slack_identities_active_organization_id_fkey",
        ondelete="SET NULL",
    ),
    CheckConstraint("linked_via IN ('password', 'api_key')", name="bot_slack_identities_linked_via_check"),
    Index("idx_bot_slack_identities_user_id", "user_id"),
)

bot_link_tokens = Table(
    "bot_link_tokens",
    metadata,
    Column("nonce", String(64), nullable=False),
    Column("enterprise_id", String(32), nullable=False, server_default=text("''")),
    Column("team_id", String(32), nullable=False),
    Column("slack_user_id", String(32), nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("used_at", TZ),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("nonce", name="bot_link_tokens_pkey"),
    Index("idx_bot_link_tokens_expires_at", "expires_at"),
)

bot_login_attempts = Table(
    "bot_login_attempts",
    metadata,
    Column("key", String(320), nullable=False),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("window_started_at", TZ, nullable=False, server_default=text("now()")),
    Column("locked_until", TZ),
    PrimaryKeyConstraint("key", name="bot_login_attempts_pkey"),
)

bot_channel_bindings = Table(
    "bot_channel_bindings",
    metadata,
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("notify_billing", Boolean, nullable=False, server_default=text("true")),
    Column("notify_vps", Boolean, nullable=False, server_default=text("true")),
    Column("notify_tickets", Boolean, nullable=False, server_default=text("true")),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("disabled_at", TZ),  # 0014: its workspace uninstalled the app (a reinstall enables it again)
    PrimaryKeyConstraint("team_id", "channel_id", name="bot_channel_bindings_pkey"),
    ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name="bot_channel_bindings_organization_id_fkey", ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["created_by"], ["users.id"], name="bot_channel_bindings_created_by_fkey", ondelete="SET NULL"
    ),
    Index("idx_bot_channel_bindings_organization_id", "organization_id"),
)

bot_org_invites = Table(
    "bot_org_invites",
    metadata,
    Column("id", BigInteger, nullable=False, server_default=text("nextval('bot_org_invites_id_seq'::regclass)")),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("enterprise_id", String(32), nullable=False, server_default=text("''")),
    Column("team_id", String(32), nullable=False),
    Column("slack_user_id", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("invited_by", UUID(as_uuid=True)),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("accepted_at", TZ),
    PrimaryKeyConstraint("id", name="bot_org_invites_pkey"),
    UniqueConstraint("organization_id", "enterprise_id", "team_id", "slack_user_id", name="bot_org_invites_slack_key"),
    ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name="bot_org_invites_organization_id_fkey", ondelete="CASCADE"
    ),
    ForeignKeyConstraint(["invited_by"], ["users.id"], name="bot_org_invites_invited_by_fkey", ondelete="SET NULL"),
    CheckConstraint("role IN ('member', 'admin')", name="bot_org_invites_role_check"),
    Index(
        "idx_bot_org_invites_pending",
        "enterprise_id",
        "team_id",
        "slack_user_id",
        postgresql_where=text("accepted_at IS NULL"),
    ),
)


# -- payments (revision 0004) ----------------------------------------------------------------------

bot_paypal_events = Table(
    "bot_paypal_events",
    metadata,
    Column("event_id", String(128), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("resource_id", String(128)),
    Column("raw_body", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("deliveries", Integer, nullable=False, server_default=text("1")),
    Column("received_at", TZ, nullable=False, server_default=text("now()")),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", TZ, nullable=False, server_default=text("now()")),
    Column("locked_until", TZ),
    Column("outcome", Text),
    Column("last_error", Text),
    Column("processed_at", TZ),
    Column("waits", Integer, nullable=False, server_default=text("0")),  # revision 0008
    PrimaryKeyConstraint("event_id", name="bot_paypal_events_pkey"),
    CheckConstraint(
        "status IN ('pending', 'processing', 'processed', 'failed', 'dead')", name="bot_paypal_events_status_check"
    ),
    Index(
        "idx_bot_paypal_events_due",
        "next_attempt_at",
        postgresql_where=text("status IN ('pending', 'processing', 'failed')"),
    ),
    Index("idx_bot_paypal_events_received_at", "received_at"),
)

bot_ledger_keys = Table(
    "bot_ledger_keys",
    metadata,
    Column("key", String(200), nullable=False),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("payment_transaction_id", UUID(as_uuid=True)),
    Column("amount", NUMERIC(10, 2), nullable=False),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("key", name="bot_ledger_keys_pkey"),
    ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name="bot_ledger_keys_organization_id_fkey", ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["payment_transaction_id"],
        ["payment_transactions.id"],
        name="bot_ledger_keys_payment_transaction_id_fkey",
        ondelete="SET NULL",
    ),
    Index("idx_bot_ledger_keys_payment_transaction_id", "payment_transaction_id"),
)

#: Revision 0008: every webhook transmission id seen, bound to the body it came with.
bot_paypal_transmissions = Table(
    "bot_paypal_transmissions",
    metadata,
    Column("transmission_id", String(128), nullable=False),
    Column("body_sha256", LargeBinary, nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("transmission_time", TZ, nullable=False),
    Column("received_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("transmission_id", name="bot_paypal_transmissions_pkey"),
    Index("idx_bot_paypal_transmissions_received_at", "received_at"),
)


# -- VPS lifecycle (revision 0006) -----------------------------------------------------------------

bot_jobs = Table(
    "bot_jobs",
    metadata,
    Column("id", BigInteger, nullable=False, server_default=text("nextval('bot_jobs_id_seq'::regclass)")),
    Column("kind", String(32), nullable=False),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("dedupe_key", String(255)),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("8")),
    Column("next_attempt_at", TZ, nullable=False, server_default=text("now()")),
    Column("locked_until", TZ),
    Column("last_error", Text),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("finished_at", TZ),
    PrimaryKeyConstraint("id", name="bot_jobs_pkey"),
    UniqueConstraint("dedupe_key", name="bot_jobs_dedupe_key_key"),
    CheckConstraint("status IN ('pending', 'running', 'done', 'dead')", name="bot_jobs_status_check"),
    Index("idx_bot_jobs_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'running')")),
    Index("idx_bot_jobs_dead", "created_at", postgresql_where=text("status = 'dead'")),
)


# -- support tickets (revision 0005) -----------------------------------------------------------------

bot_settings = Table(
    "bot_settings",
    metadata,
    Column("key", String(100), nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_by", UUID(as_uuid=True)),
    Column("updated_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("key", name="bot_settings_pkey"),
)

bot_ticket_threads = Table(
    "bot_ticket_threads",
    metadata,
    Column("id", BigInteger, nullable=False, server_default=text("nextval('bot_ticket_threads_id_seq'::regclass)")),
    Column("ticket_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("target", String(64), nullable=False),
    Column("outbox_id", BigInteger),
    Column("channel_id", String(64)),
    Column("ts", String(32)),
    Column("root_hash", String(32)),
    Column("root_seq", Integer, nullable=False, server_default=text("0")),
    Column("status_seen", String(50)),
    Column("note_seq", Integer, nullable=False, server_default=text("0")),
    Column("link_url", Text),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("status_seen_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("id", name="bot_ticket_threads_pkey"),
    UniqueConstraint("ticket_id", "kind", name="bot_ticket_threads_ticket_id_kind_key"),
    UniqueConstraint("channel_id", "ts", name="bot_ticket_threads_channel_id_ts_key"),
    CheckConstraint("kind IN ('triage', 'requester')", name="bot_ticket_threads_kind_check"),
    ForeignKeyConstraint(
        ["ticket_id"], ["support_tickets.id"], name="bot_ticket_threads_ticket_id_fkey", ondelete="CASCADE"
    ),
    Index("idx_bot_ticket_threads_unresolved", "outbox_id", postgresql_where=text("ts IS NULL")),
)

bot_ticket_reply_mirrors = Table(
    "bot_ticket_reply_mirrors",
    metadata,
    Column("reply_id", UUID(as_uuid=True), nullable=False),
    Column("thread_id", BigInteger, nullable=False),
    Column("origin", Boolean, nullable=False, server_default=text("false")),
    Column("slack_ts", String(32)),
    Column("outbox_id", BigInteger),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("reply_id", "thread_id", name="bot_ticket_reply_mirrors_pkey"),
    UniqueConstraint("thread_id", "slack_ts", name="bot_ticket_reply_mirrors_thread_id_slack_ts_key"),
    ForeignKeyConstraint(
        ["reply_id"],
        ["support_ticket_replies.id"],
        name="bot_ticket_reply_mirrors_reply_id_fkey",
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["thread_id"], ["bot_ticket_threads.id"], name="bot_ticket_reply_mirrors_thread_id_fkey", ondelete="CASCADE"
    ),
)

bot_ticket_assignments = Table(
    "bot_ticket_assignments",
    metadata,
    Column("ticket_id", UUID(as_uuid=True), nullable=False),
    Column("assignee_id", UUID(as_uuid=True), nullable=False),
    Column("assigned_by", UUID(as_uuid=True)),
    Column("assigned_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("ticket_id", name="bot_ticket_assignments_pkey"),
    ForeignKeyConstraint(
        ["ticket_id"], ["support_tickets.id"], name="bot_ticket_assignments_ticket_id_fkey", ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["assignee_id"], ["users.id"], name="bot_ticket_assignments_assignee_id_fkey", ondelete="CASCADE"
    ),
    Index("idx_bot_ticket_assignments_assignee_id", "assignee_id"),
)

bot_ticket_sla_reminders = Table(
    "bot_ticket_sla_reminders",
    metadata,
    Column("ticket_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("due_at", TZ, nullable=False),
    Column("notified_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("ticket_id", "kind", name="bot_ticket_sla_reminders_pkey"),
    ForeignKeyConstraint(
        ["ticket_id"], ["support_tickets.id"], name="bot_ticket_sla_reminders_ticket_id_fkey", ondelete="CASCADE"
    ),
)

bot_ticket_digests = Table(
    "bot_ticket_digests",
    metadata,
    Column("digest_date", String(10), nullable=False),
    Column("posted_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("digest_date", name="bot_ticket_digests_pkey"),
)


# -- billing and scheduler (revision 0007) -----------------------------------------------------------

bot_billing_failures = Table(
    "bot_billing_failures",
    metadata,
    Column("vps_instance_id", UUID(as_uuid=True), nullable=False),
    Column("hour_index", BigInteger, nullable=False),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("cycle_id", UUID(as_uuid=True), nullable=False),
    Column("period_start", TZ, nullable=False),
    Column("amount", NUMERIC(10, 2), nullable=False),
    Column("first_failed_at", TZ, nullable=False),
    Column("collected_at", TZ),
    Column("payment_transaction_id", UUID(as_uuid=True)),
    Column("label", String(255)),  # revision 0009: no foreign key to the server, whose row may be gone
    PrimaryKeyConstraint("vps_instance_id", "hour_index", name="bot_billing_failures_pkey"),
    ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name="bot_billing_failures_organization_id_fkey", ondelete="CASCADE"
    ),
    Index("idx_bot_billing_failures_open", "organization_id", postgresql_where=text("collected_at IS NULL")),
)

bot_billing_arrears = Table(
    "bot_billing_arrears",
    metadata,
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("since", TZ, nullable=False),
    Column("notice_day", Integer, nullable=False, server_default=text("'-1'::integer")),
    PrimaryKeyConstraint("organization_id", name="bot_billing_arrears_pkey"),
    ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name="bot_billing_arrears_organization_id_fkey", ondelete="CASCADE"
    ),
)

bot_billing_runs = Table(
    "bot_billing_runs",
    metadata,
    Column("id", BigInteger, nullable=False, server_default=text("nextval('bot_billing_runs_id_seq'::regclass)")),
    Column("run_at", TZ, nullable=False),
    Column("source", String(32), nullable=False),
    Column("hours_charged", Integer, nullable=False, server_default=text("0")),
    Column("amount_charged", NUMERIC(14, 2), nullable=False, server_default=text("0")),
    Column("hours_failed", Integer, nullable=False, server_default=text("0")),
    Column("organizations", Integer, nullable=False, server_default=text("0")),
    Column("started_at", TZ, nullable=False, server_default=text("now()")),
    Column("finished_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("id", name="bot_billing_runs_pkey"),
    Index("idx_bot_billing_runs_finished_at", "finished_at"),
)

bot_job_runs = Table(
    "bot_job_runs",
    metadata,
    Column("job", String(64), nullable=False),
    Column("slot", TZ, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'claimed'")),
    Column("covers_from", TZ),
    Column("claimed_at", TZ, nullable=False, server_default=text("now()")),
    Column("finished_at", TZ),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    PrimaryKeyConstraint("job", "slot", name="bot_job_runs_pkey"),
    CheckConstraint("status IN ('claimed', 'done')", name="bot_job_runs_status_check"),
)


# -- workspaces, distributed mode (revision 0014) ------------------------------------------------------

bot_slack_installations = Table(
    "bot_slack_installations",
    metadata,
    Column(
        "id", BigInteger, nullable=False, server_default=text("nextval('bot_slack_installations_id_seq'::regclass)")
    ),
    Column("enterprise_id", String(32), nullable=False, server_default=text("''")),
    Column("team_id", String(32), nullable=False, server_default=text("''")),
    Column("is_enterprise_install", Boolean, nullable=False, server_default=text("false")),
    Column("enterprise_name", String(255)),
    Column("team_name", String(255)),
    Column("app_id", String(32)),
    Column("bot_id", String(32), nullable=False),
    Column("bot_user_id", String(32), nullable=False),
    Column("bot_token", LargeBinary, nullable=False),  # sealed (bot.slack.token_crypto)
    Column("bot_refresh_token", LargeBinary),  # sealed
    Column("bot_token_expires_at", TZ),
    Column("bot_scopes", Text, nullable=False, server_default=text("''")),
    Column("installer_user_id", String(32)),
    Column("installed_at", TZ, nullable=False, server_default=text("now()")),
    Column("updated_at", TZ, nullable=False, server_default=text("now()")),
    Column("uninstalled_at", TZ),
    Column("uninstall_reason", String(32)),
    Column("version", Integer, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint("id", name="bot_slack_installations_pkey"),
    UniqueConstraint("enterprise_id", "team_id", name="bot_slack_installations_workspace_key"),
    CheckConstraint(
        "(is_enterprise_install AND team_id = '' AND enterprise_id <> '') "
        "OR (NOT is_enterprise_install AND team_id <> '')",
        name="bot_slack_installations_scope_check",
    ),
    CheckConstraint(
        "uninstall_reason IN ('app_uninstalled', 'tokens_revoked')", name="bot_slack_installations_reason_check"
    ),
)

bot_slack_oauth_states = Table(
    "bot_slack_oauth_states",
    metadata,
    Column("state", String(64), nullable=False),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("expires_at", TZ, nullable=False),
    Column("consumed_at", TZ),
    PrimaryKeyConstraint("state", name="bot_slack_oauth_states_pkey"),
    Index("idx_bot_slack_oauth_states_expires_at", "expires_at"),
)

bot_slack_conversations = Table(
    "bot_slack_conversations",
    metadata,
    Column("conversation_id", String(32), nullable=False),
    Column("enterprise_id", String(32), nullable=False, server_default=text("''")),
    Column("team_id", String(32), nullable=False),
    Column("seen_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("conversation_id", name="bot_slack_conversations_pkey"),
)


#: Every bot-owned table, in dependency order (for tools and tests; the revisions create them).
BOT_TABLES = tuple(table for table in metadata.sorted_tables if table.name.startswith("bot_"))

#: The bot's own trigger function and triggers on the panel's ticket tables (revision 0005): they
#: announce ticket changes on the `csbot_tickets` channel. Additive; the panel's triggers are untouched.
BOT_FUNCTIONS: tuple[FunctionSpec, ...] = (FunctionSpec("csbot_notify_ticket", (), "trigger"),)
BOT_TRIGGERS: tuple[TriggerSpec, ...] = (
    TriggerSpec("csbot_tickets_notify", "support_tickets", "AFTER", ("INSERT", "UPDATE"), "csbot_notify_ticket"),
    TriggerSpec("csbot_ticket_replies_notify", "support_ticket_replies", "AFTER", ("INSERT",), "csbot_notify_ticket"),
)

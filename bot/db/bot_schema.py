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
    PrimaryKeyConstraint("id", name="bot_outbox_pkey"),
    UniqueConstraint("dedupe_key", name="bot_outbox_dedupe_key_key"),
    CheckConstraint("kind IN ('post', 'update', 'ephemeral')", name="bot_outbox_kind_check"),
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

BOT_TABLES = (
    bot_outbox,
    bot_outbox_pace,
    bot_slack_events,
    bot_slack_identities,
    bot_link_tokens,
    bot_login_attempts,
    bot_channel_bindings,
    bot_org_invites,
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

BOT_TABLES = (*BOT_TABLES, bot_paypal_events, bot_ledger_keys)

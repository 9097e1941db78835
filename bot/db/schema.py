"""The panel's tables as SQLAlchemy Core metadata: the one description the bot's code queries.

The ContainerStacks panel owns these 18 tables (reference `containerstacks-schema.md` §2); the
bot shares them. Every constraint and index carries the exact name the panel's database has, so
the drift checker (`bot.db.drift`) can compare this metadata with a live database name by name.
Bot-owned tables (prefix `bot_`) are added to the same `metadata` from their own modules.

Server defaults are written as SQL text because they are facts about the database, not
Python-side defaults: the panel inserts rows too, and relies on them.
"""

from __future__ import annotations

from sqlalchemy import (
    BOOLEAN,
    INTEGER,
    NUMERIC,
    TEXT,
    TIMESTAMP,
    VARCHAR,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB, UUID

#: PostgreSQL's own naming scheme for unnamed constraints, so bot tables declared without
#: explicit names get the names PostgreSQL would have chosen for inline DDL. The panel's
#: tables below name everything explicitly and are unaffected.
NAMING_CONVENTION: dict[str, str] = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "ix": "idx_%(table_name)s_%(column_0_N_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Reusable column types (the reference writes "ts" for timestamp with time zone).
TS = TIMESTAMP(timezone=True)
MONEY = NUMERIC(10, 2, asdecimal=True)
RATE = NUMERIC(10, 4, asdecimal=True)
PANEL_UUID = UUID(as_uuid=True)

NOW = text("now()")
EMPTY_JSON = text("'{}'::jsonb")


def _uuid_id() -> Column:
    """`id uuid PRIMARY KEY DEFAULT uuid_generate_v4()`; the PK constraint is named per table."""
    return Column("id", PANEL_UUID, nullable=False, server_default=text("uuid_generate_v4()"))


def _timestamps(*, nullable: bool = True) -> tuple[Column, Column]:
    """`created_at`/`updated_at` ts DEFAULT now(); NOT NULL only in the 002/003/007 tables."""
    return (
        Column("created_at", TS, nullable=nullable, server_default=NOW),
        Column("updated_at", TS, nullable=nullable, server_default=NOW),
    )


def _fk(target: str, name: str, ondelete: str | None = None) -> ForeignKey:
    """A named FK; `ondelete=None` is PostgreSQL's NO ACTION."""
    return ForeignKey(target, name=name, ondelete=ondelete)


users = Table(
    "users",
    metadata,
    _uuid_id(),
    Column("email", VARCHAR(255), nullable=False),
    Column("password_hash", VARCHAR(255), nullable=False),
    Column("name", VARCHAR(255), nullable=False),
    Column("role", VARCHAR(50), server_default=text("'user'")),
    Column("phone", VARCHAR(50)),
    Column("timezone", VARCHAR(100)),
    Column("preferences", JSONB, server_default=EMPTY_JSON),
    *_timestamps(),
    Column("reset_token", VARCHAR(255)),
    Column("reset_expires", TIMESTAMP(timezone=False)),
    PrimaryKeyConstraint("id", name="users_pkey"),
    UniqueConstraint("email", name="users_email_key"),
    CheckConstraint("role IN ('admin', 'user')", name="users_role_check"),
    Index("idx_users_email", "email"),
    Index("idx_users_reset_token", "reset_token", postgresql_where=text("reset_token IS NOT NULL")),
)

organizations = Table(
    "organizations",
    metadata,
    _uuid_id(),
    Column("name", VARCHAR(255), nullable=False),
    Column("slug", VARCHAR(255), nullable=False),
    Column(
        "owner_id",
        PANEL_UUID,
        _fk("users.id", "organizations_owner_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("settings", JSONB, server_default=EMPTY_JSON),
    Column("website", VARCHAR(500)),
    Column("address", TEXT),
    Column("tax_id", VARCHAR(100)),
    *_timestamps(),
    PrimaryKeyConstraint("id", name="organizations_pkey"),
    UniqueConstraint("slug", name="organizations_slug_key"),
    Index("idx_organizations_slug", "slug"),
    Index("idx_organizations_owner_id", "owner_id"),
)

organization_members = Table(
    "organization_members",
    metadata,
    _uuid_id(),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "organization_members_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column(
        "user_id",
        PANEL_UUID,
        _fk("users.id", "organization_members_user_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("role", VARCHAR(50), server_default=text("'member'")),
    Column("created_at", TS, server_default=NOW),
    PrimaryKeyConstraint("id", name="organization_members_pkey"),
    UniqueConstraint("organization_id", "user_id", name="organization_members_organization_id_user_id_key"),
    CheckConstraint("role IN ('owner', 'admin', 'member')", name="organization_members_role_check"),
    Index("idx_organization_members_org_id", "organization_id"),
    Index("idx_organization_members_user_id", "user_id"),
)

wallets = Table(
    "wallets",
    metadata,
    _uuid_id(),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "wallets_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("balance", MONEY, server_default=text("0.00")),
    Column("currency", VARCHAR(3), server_default=text("'USD'")),
    *_timestamps(),
    PrimaryKeyConstraint("id", name="wallets_pkey"),
    Index("idx_wallets_org_id", "organization_id"),
)

user_api_keys = Table(
    "user_api_keys",
    metadata,
    _uuid_id(),
    Column(
        "user_id",
        PANEL_UUID,
        _fk("users.id", "user_api_keys_user_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("key_name", VARCHAR(255), nullable=False),
    Column("key_hash", VARCHAR(255), nullable=False),
    Column("key_prefix", VARCHAR(255), nullable=False),
    Column("permissions", JSONB, server_default=EMPTY_JSON),
    Column("last_used_at", TS),
    Column("expires_at", TS),
    Column("active", BOOLEAN, server_default=text("true")),
    *_timestamps(),
    PrimaryKeyConstraint("id", name="user_api_keys_pkey"),
    Index("idx_user_api_keys_user_id", "user_id"),
    Index("idx_user_api_keys_active", "active"),
)

containers = Table(
    "containers",
    metadata,
    _uuid_id(),
    Column("name", VARCHAR(255), nullable=False),
    Column("image", VARCHAR(500), nullable=False),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "containers_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("config", JSONB, server_default=EMPTY_JSON),
    Column("status", VARCHAR(50), server_default=text("'stopped'")),
    Column("created_by", PANEL_UUID, _fk("users.id", "containers_created_by_fkey", "SET NULL")),
    *_timestamps(),
    PrimaryKeyConstraint("id", name="containers_pkey"),
    Index("idx_containers_org_id", "organization_id"),
    Index("idx_containers_created_by", "created_by"),
)

container_pricing_config = Table(
    "container_pricing_config",
    metadata,
    _uuid_id(),
    Column("price_per_cpu", MONEY, nullable=False, server_default=text("0")),
    Column("price_per_ram_gb", MONEY, nullable=False, server_default=text("0")),
    Column("price_per_storage_gb", MONEY, nullable=False, server_default=text("0")),
    Column("price_per_network_mbps", MONEY, nullable=False, server_default=text("0")),
    Column("currency", VARCHAR(10), nullable=False, server_default=text("'USD'")),
    *_timestamps(nullable=False),
    PrimaryKeyConstraint("id", name="container_pricing_config_pkey"),
)

container_plans = Table(
    "container_plans",
    metadata,
    _uuid_id(),
    Column("name", VARCHAR(255), nullable=False),
    Column("cpu_cores", INTEGER, nullable=False),
    Column("ram_gb", INTEGER, nullable=False),
    Column("storage_gb", INTEGER, nullable=False),
    Column("network_mbps", INTEGER, nullable=False, server_default=text("0")),
    Column("base_price", MONEY, nullable=False, server_default=text("0")),
    Column("markup_price", MONEY, nullable=False, server_default=text("0")),
    Column("active", BOOLEAN, nullable=False, server_default=text("true")),
    *_timestamps(nullable=False),
    PrimaryKeyConstraint("id", name="container_plans_pkey"),
)

vps_instances = Table(
    "vps_instances",
    metadata,
    _uuid_id(),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "vps_instances_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    # Not an FK: the plan uuid as text, or the raw Linode type id when no plan matched.
    Column("plan_id", VARCHAR(255), nullable=False),
    Column("provider_instance_id", VARCHAR(255), nullable=False),
    Column("label", VARCHAR(255), nullable=False),
    Column("status", VARCHAR(50), server_default=text("'provisioning'")),
    Column("ip_address", INET),
    Column("configuration", JSONB, server_default=EMPTY_JSON),
    *_timestamps(),
    Column("last_billed_at", TS),
    Column("provider_type", VARCHAR(50)),
    PrimaryKeyConstraint("id", name="vps_instances_pkey"),
    Index("idx_vps_instances_org_id", "organization_id"),
    Index("idx_vps_instances_last_billed_at", "last_billed_at"),
    Index("idx_vps_instances_provider_type", "provider_type"),
)

service_providers = Table(
    "service_providers",
    metadata,
    _uuid_id(),
    Column("name", VARCHAR(255), nullable=False),
    Column("type", VARCHAR(50), nullable=False),
    # Plaintext in the ContainerStacks era; an AES-GCM envelope once SkyPanelV2 rewrote it.
    Column("api_key_encrypted", TEXT, nullable=False),
    Column("configuration", JSONB, nullable=False, server_default=EMPTY_JSON),
    Column("active", BOOLEAN, nullable=False, server_default=text("true")),
    *_timestamps(nullable=False),
    PrimaryKeyConstraint("id", name="service_providers_pkey"),
    CheckConstraint("type IN ('linode', 'digitalocean', 'aws', 'gcp')", name="service_providers_type_check"),
)

vps_plans = Table(
    "vps_plans",
    metadata,
    _uuid_id(),
    Column("name", VARCHAR(255), nullable=False),
    Column("provider_plan_id", VARCHAR(255), nullable=False),
    *_timestamps(),
    Column(
        "provider_id",
        PANEL_UUID,
        _fk("service_providers.id", "vps_plans_provider_id_fkey", "SET NULL"),
    ),
    Column("base_price", MONEY),
    Column("markup_price", MONEY, server_default=text("0")),
    Column("specifications", JSONB, nullable=False, server_default=EMPTY_JSON),
    Column("active", BOOLEAN, nullable=False, server_default=text("true")),
    PrimaryKeyConstraint("id", name="vps_plans_pkey"),
    Index("idx_vps_plans_provider_id", "provider_id"),
    Index("idx_vps_plans_active", "active"),
)

vps_stackscript_configs = Table(
    "vps_stackscript_configs",
    metadata,
    Column("stackscript_id", INTEGER, nullable=False, autoincrement=False),
    Column("label", TEXT),
    Column("description", TEXT),
    Column("is_enabled", BOOLEAN, nullable=False, server_default=text("true")),
    Column("display_order", INTEGER, nullable=False, server_default=text("0")),
    Column("metadata", JSONB, server_default=EMPTY_JSON),
    *_timestamps(),
    PrimaryKeyConstraint("stackscript_id", name="vps_stackscript_configs_pkey"),
    Index("idx_vps_stackscript_configs_enabled", "is_enabled"),
    Index("idx_vps_stackscript_configs_order", "display_order"),
)

networking_config = Table(
    "networking_config",
    metadata,
    _uuid_id(),
    Column("rdns_base_domain", TEXT, nullable=False, server_default=text("'ip.rev.skyvps360.xyz'")),
    *_timestamps(nullable=False),
    PrimaryKeyConstraint("id", name="networking_config_pkey"),
)

payment_transactions = Table(
    "payment_transactions",
    metadata,
    _uuid_id(),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "payment_transactions_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    # Signed: credits positive, wallet debits negative.
    Column("amount", MONEY, nullable=False),
    Column("currency", VARCHAR(3), server_default=text("'USD'")),
    Column("payment_method", VARCHAR(50), nullable=False),
    Column("payment_provider", VARCHAR(50), nullable=False),
    # The PayPal *order* id for top-ups; not unique.
    Column("provider_transaction_id", VARCHAR(255)),
    Column("status", VARCHAR(50), server_default=text("'pending'")),
    Column("description", TEXT),
    Column("metadata", JSONB, server_default=EMPTY_JSON),
    *_timestamps(),
    PrimaryKeyConstraint("id", name="payment_transactions_pkey"),
    CheckConstraint(
        "status IN ('pending', 'completed', 'failed', 'refunded')",
        name="payment_transactions_status_check",
    ),
    Index("idx_payment_transactions_org_id", "organization_id"),
)

vps_billing_cycles = Table(
    "vps_billing_cycles",
    metadata,
    _uuid_id(),
    Column(
        "vps_instance_id",
        PANEL_UUID,
        _fk("vps_instances.id", "vps_billing_cycles_vps_instance_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "vps_billing_cycles_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("billing_period_start", TS, nullable=False),
    Column("billing_period_end", TS, nullable=False),
    Column("hourly_rate", RATE, nullable=False),
    Column("total_amount", MONEY, nullable=False),
    Column("status", VARCHAR(50), server_default=text("'pending'")),
    Column(
        "payment_transaction_id",
        PANEL_UUID,
        _fk("payment_transactions.id", "vps_billing_cycles_payment_transaction_id_fkey"),
    ),
    Column("metadata", JSONB, server_default=EMPTY_JSON),
    *_timestamps(),
    PrimaryKeyConstraint("id", name="vps_billing_cycles_pkey"),
    CheckConstraint("status IN ('pending', 'billed', 'failed', 'refunded')", name="vps_billing_cycles_status_check"),
    Index("idx_vps_billing_cycles_vps_id", "vps_instance_id"),
    Index("idx_vps_billing_cycles_org_id", "organization_id"),
    Index("idx_vps_billing_cycles_period", "billing_period_start", "billing_period_end"),
    Index("idx_vps_billing_cycles_status", "status"),
    Index("idx_vps_billing_cycles_created_at", "created_at"),
)

support_tickets = Table(
    "support_tickets",
    metadata,
    _uuid_id(),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "support_tickets_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column(
        "created_by",
        PANEL_UUID,
        _fk("users.id", "support_tickets_created_by_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("subject", VARCHAR(500), nullable=False),
    Column("message", TEXT, nullable=False),
    Column("status", VARCHAR(50), server_default=text("'open'")),
    Column("priority", VARCHAR(50), server_default=text("'medium'")),
    Column("category", VARCHAR(100), nullable=False),
    *_timestamps(),
    Column("has_staff_reply", BOOLEAN, server_default=text("false")),
    PrimaryKeyConstraint("id", name="support_tickets_pkey"),
    CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed')", name="support_tickets_status_check"),
    CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name="support_tickets_priority_check"),
    Index("idx_support_tickets_org_id", "organization_id"),
    Index("idx_support_tickets_created_by", "created_by"),
    Index("idx_support_tickets_status", "status"),
    Index("idx_support_tickets_has_staff_reply", "has_staff_reply"),
)

support_ticket_replies = Table(
    "support_ticket_replies",
    metadata,
    _uuid_id(),
    Column(
        "ticket_id",
        PANEL_UUID,
        _fk("support_tickets.id", "support_ticket_replies_ticket_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column(
        "user_id",
        PANEL_UUID,
        _fk("users.id", "support_ticket_replies_user_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("message", TEXT, nullable=False),
    Column("is_staff_reply", BOOLEAN, server_default=text("false")),
    Column("created_at", TS, server_default=NOW),
    PrimaryKeyConstraint("id", name="support_ticket_replies_pkey"),
    Index("idx_support_ticket_replies_ticket_id", "ticket_id"),
    Index("idx_support_ticket_replies_created_at", "created_at"),
)

activity_logs = Table(
    "activity_logs",
    metadata,
    Column("id", PANEL_UUID, nullable=False, server_default=text("gen_random_uuid()")),
    # No FKs on user_id/organization_id; user_id is NULL only for entity_type 'system'.
    Column("user_id", PANEL_UUID),
    Column("organization_id", PANEL_UUID),
    Column("event_type", VARCHAR(100), nullable=False),
    Column("entity_type", VARCHAR(100), nullable=False),
    Column("entity_id", VARCHAR(255)),
    Column("message", TEXT),
    Column("status", VARCHAR(50), server_default=text("'info'")),
    Column("ip_address", VARCHAR(64)),
    Column("user_agent", TEXT),
    Column("metadata", JSONB, server_default=EMPTY_JSON),
    Column("created_at", TS, server_default=NOW),
    Column("is_read", BOOLEAN, server_default=text("false")),
    Column("read_at", TS),
    PrimaryKeyConstraint("id", name="activity_logs_pkey"),
    CheckConstraint("status IN ('success', 'warning', 'error', 'info')", name="activity_logs_status_check"),
    CheckConstraint(
        "user_id IS NOT NULL OR (user_id IS NULL AND entity_type = 'system')",
        name="activity_logs_user_or_system_check",
    ),
    Index("idx_activity_logs_user_id", "user_id"),
    Index("idx_activity_logs_org_id", "organization_id"),
    Index("idx_activity_logs_event_type", "event_type"),
    Index("idx_activity_logs_created_at", "created_at"),
)
# A DESC key needs the Column object, so this index is attached after the table exists.
Index(
    "idx_activity_logs_is_read",
    activity_logs.c.user_id,
    activity_logs.c.is_read,
    activity_logs.c.created_at.desc(),
)

#: Created by the panel at run time (`InvoiceService`, when it first lists or stores an invoice) and
#: by the bot's revision 0012 only if missing, with the panel's exact definition, so either may be
#: first. Not in PANEL_TABLES: a panel database that never issued an invoice does not have it yet.
billing_invoices = Table(
    "billing_invoices",
    metadata,
    _uuid_id(),
    Column(
        "organization_id",
        PANEL_UUID,
        _fk("organizations.id", "billing_invoices_organization_id_fkey", "CASCADE"),
        nullable=False,
    ),
    Column("invoice_number", TEXT, nullable=False),
    Column("html_content", TEXT, nullable=False),
    Column("data", JSONB, nullable=False, server_default=EMPTY_JSON),
    Column("total_amount", MONEY, nullable=False, server_default=text("0.00")),
    Column("currency", TEXT, nullable=False, server_default=text("'USD'")),
    *_timestamps(nullable=False),
    PrimaryKeyConstraint("id", name="billing_invoices_pkey"),
    Index("idx_billing_invoices_org", "organization_id"),
    Index("idx_billing_invoices_created_at", "created_at"),
)

#: The panel's tables in dependency order (parents before children).
PANEL_TABLES: tuple[Table, ...] = (
    users,
    organizations,
    organization_members,
    wallets,
    user_api_keys,
    containers,
    container_pricing_config,
    container_plans,
    vps_instances,
    service_providers,
    vps_plans,
    vps_stackscript_configs,
    networking_config,
    payment_transactions,
    vps_billing_cycles,
    support_tickets,
    support_ticket_replies,
    activity_logs,
)

#: Names of the panel's tables, for quick membership tests.
PANEL_TABLE_NAMES: frozenset[str] = frozenset(table.name for table in PANEL_TABLES)

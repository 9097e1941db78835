"""The shared schema against the reference, on a real PostgreSQL.

Two independently written databases are held to one set of facts taken from
`reference/containerstacks-schema.md`: the bot's baseline (`migrations/sql/0001_panel_baseline.sql`)
and a database as the panel itself builds it (`tests/fixtures/panel_schema.sql`, its migrations
replayed). The facts are written out here, not derived from `bot.db.schema`, so a mistake in the
code and in a SQL file cannot cancel out. The drift checker must find both databases clean, a
SkyPanelV2-style database "extra" only, and damage with the right severity.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import bcrypt
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.db.drift import DriftItem, DriftReport, inspect_drift, normalize_expr, normalize_type, same_default
from bot.db.schema import PANEL_TABLES, metadata

ROOT = Path(__file__).resolve().parent.parent
BASELINE_SQL = ROOT / "migrations" / "sql" / "0001_panel_baseline.sql"
PANEL_SQL = ROOT / "tests" / "fixtures" / "panel_schema.sql"
SKYPANEL_SQL = ROOT / "tests" / "fixtures" / "skypanel_extras.sql"
MIGRATIONS_DIR = ROOT / "migrations"

# =============================================================================================
# Local database fixtures (self-contained for now; shared ones will live in tests/conftest.py)
# =============================================================================================

SERVER_URL = (
    os.environ.get("TEST_DATABASE_URL")
    or os.environ.get("DATABASE_URL")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _url_for(database: str, *, driver: str = "postgresql") -> str:
    """The server URL pointing at `database`, with `driver` as scheme (asyncpg or SQLAlchemy)."""
    parts = urlsplit(SERVER_URL)
    return urlunsplit((driver, parts.netloc, "/" + database, parts.query, parts.fragment))


async def _admin(sql: str) -> None:
    """Run one statement on the server's `postgres` database, outside any transaction."""
    conn = await asyncpg.connect(_url_for("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def _create_database(purpose: str, template: str | None = None) -> str:
    name = f"cst_schema_{purpose}_{uuid.uuid4().hex[:10]}"
    suffix = f" TEMPLATE {_quote(template)}" if template else ""
    await _admin(f"CREATE DATABASE {_quote(name)}{suffix}")
    return name


async def _drop_database(name: str) -> None:
    """Drop `name`; WITH (FORCE) terminates connections a failed test may have left open."""
    await _admin(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")


async def _apply_sql(database: str, *files: Path) -> None:
    """Apply whole SQL files; asyncpg's simple protocol runs a multi-statement file as one unit."""
    conn = await asyncpg.connect(_url_for(database))
    try:
        for path in files:
            await conn.execute(path.read_text(encoding="utf-8"))
    finally:
        await conn.close()


@dataclass(frozen=True)
class Database:
    """A scratch database the test owns."""

    name: str

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(_url_for(self.name))

    @asynccontextmanager
    async def sqlalchemy(self) -> AsyncIterator[AsyncConnection]:
        engine = create_async_engine(_url_for(self.name, driver="postgresql+asyncpg"), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                yield conn
        finally:
            await engine.dispose()

    async def drift(self, **kwargs: Any) -> DriftReport:
        async with self.sqlalchemy() as conn:
            return await inspect_drift(conn, tables=PANEL_TABLES, **kwargs)


@asynccontextmanager
async def _scratch(purpose: str, template: str | None = None) -> AsyncIterator[Database]:
    name = await _create_database(purpose, template)
    try:
        yield Database(name)
    finally:
        await _drop_database(name)


@pytest_asyncio.fixture(scope="module")
async def baseline_template() -> AsyncIterator[str]:
    """Built once per module from the baseline SQL; tests get clones."""
    async with _scratch("tpl_baseline") as db:
        await _apply_sql(db.name, BASELINE_SQL)
        yield db.name


@pytest_asyncio.fixture(scope="module")
async def panel_template() -> AsyncIterator[str]:
    """Built once per module by replaying the panel's migrations plus its data."""
    async with _scratch("tpl_panel") as db:
        await _apply_sql(db.name, PANEL_SQL)
        yield db.name


@pytest_asyncio.fixture
async def empty_db() -> AsyncIterator[Database]:
    async with _scratch("empty") as db:
        yield db


@pytest_asyncio.fixture
async def baseline_db(baseline_template: str) -> AsyncIterator[Database]:
    async with _scratch("baseline", baseline_template) as db:
        yield db


@pytest_asyncio.fixture
async def panel_db(panel_template: str) -> AsyncIterator[Database]:
    async with _scratch("panel", panel_template) as db:
        yield db


@pytest.fixture
def templates(baseline_template: str, panel_template: str) -> dict[str, str]:
    """Both template databases by flavour ("baseline", "panel")."""
    return {"baseline": baseline_template, "panel": panel_template}


@pytest_asyncio.fixture(params=["baseline", "panel"])
async def any_db(request: pytest.FixtureRequest, templates: dict[str, str]) -> AsyncIterator[Database]:
    """Runs the test on both the bot's baseline and the panel-built database."""
    async with _scratch(request.param, templates[request.param]) as db:
        yield db


@pytest_asyncio.fixture
async def conn(any_db: Database) -> AsyncIterator[asyncpg.Connection]:
    connection = await any_db.connect()
    try:
        yield connection
    finally:
        await connection.close()


# =============================================================================================
# Facts from the reference (§2), written out independently of bot.db.schema
# =============================================================================================

TS = "timestamp with time zone"


def vc(length: int) -> str:
    return f"character varying({length})"


def vdef(value: str) -> str:
    return f"'{value}'::character varying"


UUID_PK = ("id", "uuid", True, "uuid_generate_v4()")
STAMPS = [("created_at", TS, False, "now()"), ("updated_at", TS, False, "now()")]
STAMPS_NN = [("created_at", TS, True, "now()"), ("updated_at", TS, True, "now()")]
JSON_EMPTY = "'{}'::jsonb"

# (column, format_type, NOT NULL, default as PostgreSQL shows it)
EXPECTED_COLUMNS: dict[str, list[tuple[str, str, bool, str | None]]] = {
    "users": [
        UUID_PK,
        ("email", vc(255), True, None),
        ("password_hash", vc(255), True, None),
        ("name", vc(255), True, None),
        ("role", vc(50), False, vdef("user")),
        ("phone", vc(50), False, None),
        ("timezone", vc(100), False, None),
        ("preferences", "jsonb", False, JSON_EMPTY),
        *STAMPS,
        ("reset_token", vc(255), False, None),
        ("reset_expires", "timestamp without time zone", False, None),
    ],
    "organizations": [
        UUID_PK,
        ("name", vc(255), True, None),
        ("slug", vc(255), True, None),
        ("owner_id", "uuid", True, None),
        ("settings", "jsonb", False, JSON_EMPTY),
        ("website", vc(500), False, None),
        ("address", "text", False, None),
        ("tax_id", vc(100), False, None),
        *STAMPS,
    ],
    "organization_members": [
        UUID_PK,
        ("organization_id", "uuid", True, None),
        ("user_id", "uuid", True, None),
        ("role", vc(50), False, vdef("member")),
        ("created_at", TS, False, "now()"),
    ],
    "wallets": [
        UUID_PK,
        ("organization_id", "uuid", True, None),
        ("balance", "numeric(10,2)", False, "0.00"),
        ("currency", vc(3), False, vdef("USD")),
        *STAMPS,
    ],
    "user_api_keys": [
        UUID_PK,
        ("user_id", "uuid", True, None),
        ("key_name", vc(255), True, None),
        ("key_hash", vc(255), True, None),
        ("key_prefix", vc(255), True, None),
        ("permissions", "jsonb", False, JSON_EMPTY),
        ("last_used_at", TS, False, None),
        ("expires_at", TS, False, None),
        ("active", "boolean", False, "true"),
        *STAMPS,
    ],
    "containers": [
        UUID_PK,
        ("name", vc(255), True, None),
        ("image", vc(500), True, None),
        ("organization_id", "uuid", True, None),
        ("config", "jsonb", False, JSON_EMPTY),
        ("status", vc(50), False, vdef("stopped")),
        ("created_by", "uuid", False, None),
        *STAMPS,
    ],
    "container_pricing_config": [
        UUID_PK,
        ("price_per_cpu", "numeric(10,2)", True, "0"),
        ("price_per_ram_gb", "numeric(10,2)", True, "0"),
        ("price_per_storage_gb", "numeric(10,2)", True, "0"),
        ("price_per_network_mbps", "numeric(10,2)", True, "0"),
        ("currency", vc(10), True, vdef("USD")),
        *STAMPS_NN,
    ],
    "container_plans": [
        UUID_PK,
        ("name", vc(255), True, None),
        ("cpu_cores", "integer", True, None),
        ("ram_gb", "integer", True, None),
        ("storage_gb", "integer", True, None),
        ("network_mbps", "integer", True, "0"),
        ("base_price", "numeric(10,2)", True, "0"),
        ("markup_price", "numeric(10,2)", True, "0"),
        ("active", "boolean", True, "true"),
        *STAMPS_NN,
    ],
    "vps_instances": [
        UUID_PK,
        ("organization_id", "uuid", True, None),
        ("plan_id", vc(255), True, None),
        ("provider_instance_id", vc(255), True, None),
        ("label", vc(255), True, None),
        ("status", vc(50), False, vdef("provisioning")),
        ("ip_address", "inet", False, None),
        ("configuration", "jsonb", False, JSON_EMPTY),
        *STAMPS,
        ("last_billed_at", TS, False, None),
        ("provider_type", vc(50), False, None),
    ],
    "vps_plans": [
        UUID_PK,
        ("name", vc(255), True, None),
        ("provider_plan_id", vc(255), True, None),
        *STAMPS,
        ("provider_id", "uuid", False, None),
        ("base_price", "numeric(10,2)", False, None),
        ("markup_price", "numeric(10,2)", False, "0"),
        ("specifications", "jsonb", True, JSON_EMPTY),
        ("active", "boolean", True, "true"),
    ],
    "service_providers": [
        UUID_PK,
        ("name", vc(255), True, None),
        ("type", vc(50), True, None),
        ("api_key_encrypted", "text", True, None),
        ("configuration", "jsonb", True, JSON_EMPTY),
        ("active", "boolean", True, "true"),
        *STAMPS_NN,
    ],
    "vps_stackscript_configs": [
        ("stackscript_id", "integer", True, None),
        ("label", "text", False, None),
        ("description", "text", False, None),
        ("is_enabled", "boolean", True, "true"),
        ("display_order", "integer", True, "0"),
        ("metadata", "jsonb", False, JSON_EMPTY),
        *STAMPS,
    ],
    "networking_config": [
        UUID_PK,
        ("rdns_base_domain", "text", True, "'ip.rev.skyvps360.xyz'::text"),
        *STAMPS_NN,
    ],
    "payment_transactions": [
        UUID_PK,
        ("organization_id", "uuid", True, None),
        ("amount", "numeric(10,2)", True, None),
        ("currency", vc(3), False, vdef("USD")),
        ("payment_method", vc(50), True, None),
        ("payment_provider", vc(50), True, None),
        ("provider_transaction_id", vc(255), False, None),
        ("status", vc(50), False, vdef("pending")),
        ("description", "text", False, None),
        ("metadata", "jsonb", False, JSON_EMPTY),
        *STAMPS,
    ],
    "vps_billing_cycles": [
        UUID_PK,
        ("vps_instance_id", "uuid", True, None),
        ("organization_id", "uuid", True, None),
        ("billing_period_start", TS, True, None),
        ("billing_period_end", TS, True, None),
        ("hourly_rate", "numeric(10,4)", True, None),
        ("total_amount", "numeric(10,2)", True, None),
        ("status", vc(50), False, vdef("pending")),
        ("payment_transaction_id", "uuid", False, None),
        ("metadata", "jsonb", False, JSON_EMPTY),
        *STAMPS,
    ],
    "support_tickets": [
        UUID_PK,
        ("organization_id", "uuid", True, None),
        ("created_by", "uuid", True, None),
        ("subject", vc(500), True, None),
        ("message", "text", True, None),
        ("status", vc(50), False, vdef("open")),
        ("priority", vc(50), False, vdef("medium")),
        ("category", vc(100), True, None),
        *STAMPS,
        ("has_staff_reply", "boolean", False, "false"),
    ],
    "support_ticket_replies": [
        UUID_PK,
        ("ticket_id", "uuid", True, None),
        ("user_id", "uuid", True, None),
        ("message", "text", True, None),
        ("is_staff_reply", "boolean", False, "false"),
        ("created_at", TS, False, "now()"),
    ],
    "activity_logs": [
        ("id", "uuid", True, "gen_random_uuid()"),
        ("user_id", "uuid", False, None),
        ("organization_id", "uuid", False, None),
        ("event_type", vc(100), True, None),
        ("entity_type", vc(100), True, None),
        ("entity_id", vc(255), False, None),
        ("message", "text", False, None),
        ("status", vc(50), False, vdef("info")),
        ("ip_address", vc(64), False, None),
        ("user_agent", "text", False, None),
        ("metadata", "jsonb", False, JSON_EMPTY),
        ("created_at", TS, False, "now()"),
        ("is_read", "boolean", False, "false"),
        ("read_at", TS, False, None),
    ],
}

# (name, table, column, referenced table, ON DELETE)
EXPECTED_FKS: list[tuple[str, str, str, str, str]] = [
    ("organizations_owner_id_fkey", "organizations", "owner_id", "users", "CASCADE"),
    (
        "organization_members_organization_id_fkey",
        "organization_members",
        "organization_id",
        "organizations",
        "CASCADE",
    ),
    ("organization_members_user_id_fkey", "organization_members", "user_id", "users", "CASCADE"),
    ("wallets_organization_id_fkey", "wallets", "organization_id", "organizations", "CASCADE"),
    ("user_api_keys_user_id_fkey", "user_api_keys", "user_id", "users", "CASCADE"),
    ("containers_organization_id_fkey", "containers", "organization_id", "organizations", "CASCADE"),
    ("containers_created_by_fkey", "containers", "created_by", "users", "SET NULL"),
    ("vps_instances_organization_id_fkey", "vps_instances", "organization_id", "organizations", "CASCADE"),
    ("vps_plans_provider_id_fkey", "vps_plans", "provider_id", "service_providers", "SET NULL"),
    (
        "payment_transactions_organization_id_fkey",
        "payment_transactions",
        "organization_id",
        "organizations",
        "CASCADE",
    ),
    ("vps_billing_cycles_vps_instance_id_fkey", "vps_billing_cycles", "vps_instance_id", "vps_instances", "CASCADE"),
    ("vps_billing_cycles_organization_id_fkey", "vps_billing_cycles", "organization_id", "organizations", "CASCADE"),
    (
        "vps_billing_cycles_payment_transaction_id_fkey",
        "vps_billing_cycles",
        "payment_transaction_id",
        "payment_transactions",
        "NO ACTION",
    ),
    ("support_tickets_organization_id_fkey", "support_tickets", "organization_id", "organizations", "CASCADE"),
    ("support_tickets_created_by_fkey", "support_tickets", "created_by", "users", "CASCADE"),
    ("support_ticket_replies_ticket_id_fkey", "support_ticket_replies", "ticket_id", "support_tickets", "CASCADE"),
    ("support_ticket_replies_user_id_fkey", "support_ticket_replies", "user_id", "users", "CASCADE"),
]

EXPECTED_UNIQUES: dict[str, tuple[str, list[str]]] = {
    "users_email_key": ("users", ["email"]),
    "organizations_slug_key": ("organizations", ["slug"]),
    "organization_members_organization_id_user_id_key": ("organization_members", ["organization_id", "user_id"]),
}

EXPECTED_CHECKS: dict[str, str] = {
    "users_role_check": "users",
    "organization_members_role_check": "organization_members",
    "support_tickets_status_check": "support_tickets",
    "support_tickets_priority_check": "support_tickets",
    "payment_transactions_status_check": "payment_transactions",
    "service_providers_type_check": "service_providers",
    "vps_billing_cycles_status_check": "vps_billing_cycles",
    "activity_logs_status_check": "activity_logs",
    "activity_logs_user_or_system_check": "activity_logs",
}

# index name → (table, pg_get_indexdef column list, predicate or None)
EXPECTED_INDEXES: dict[str, tuple[str, str, str | None]] = {
    "idx_users_email": ("users", "email", None),
    "idx_users_reset_token": ("users", "reset_token", "(reset_token IS NOT NULL)"),
    "idx_organizations_slug": ("organizations", "slug", None),
    "idx_organizations_owner_id": ("organizations", "owner_id", None),
    "idx_organization_members_org_id": ("organization_members", "organization_id", None),
    "idx_organization_members_user_id": ("organization_members", "user_id", None),
    "idx_wallets_org_id": ("wallets", "organization_id", None),
    "idx_user_api_keys_user_id": ("user_api_keys", "user_id", None),
    "idx_user_api_keys_active": ("user_api_keys", "active", None),
    "idx_containers_org_id": ("containers", "organization_id", None),
    "idx_containers_created_by": ("containers", "created_by", None),
    "idx_vps_instances_org_id": ("vps_instances", "organization_id", None),
    "idx_vps_instances_last_billed_at": ("vps_instances", "last_billed_at", None),
    "idx_vps_instances_provider_type": ("vps_instances", "provider_type", None),
    "idx_vps_plans_provider_id": ("vps_plans", "provider_id", None),
    "idx_vps_plans_active": ("vps_plans", "active", None),
    "idx_vps_stackscript_configs_enabled": ("vps_stackscript_configs", "is_enabled", None),
    "idx_vps_stackscript_configs_order": ("vps_stackscript_configs", "display_order", None),
    "idx_payment_transactions_org_id": ("payment_transactions", "organization_id", None),
    "idx_vps_billing_cycles_vps_id": ("vps_billing_cycles", "vps_instance_id", None),
    "idx_vps_billing_cycles_org_id": ("vps_billing_cycles", "organization_id", None),
    "idx_vps_billing_cycles_period": ("vps_billing_cycles", "billing_period_start, billing_period_end", None),
    "idx_vps_billing_cycles_status": ("vps_billing_cycles", "status", None),
    "idx_vps_billing_cycles_created_at": ("vps_billing_cycles", "created_at", None),
    "idx_support_tickets_org_id": ("support_tickets", "organization_id", None),
    "idx_support_tickets_created_by": ("support_tickets", "created_by", None),
    "idx_support_tickets_status": ("support_tickets", "status", None),
    "idx_support_tickets_has_staff_reply": ("support_tickets", "has_staff_reply", None),
    "idx_support_ticket_replies_ticket_id": ("support_ticket_replies", "ticket_id", None),
    "idx_support_ticket_replies_created_at": ("support_ticket_replies", "created_at", None),
    "idx_activity_logs_user_id": ("activity_logs", "user_id", None),
    "idx_activity_logs_org_id": ("activity_logs", "organization_id", None),
    "idx_activity_logs_event_type": ("activity_logs", "event_type", None),
    "idx_activity_logs_created_at": ("activity_logs", "created_at", None),
    "idx_activity_logs_is_read": ("activity_logs", "user_id, is_read, created_at DESC", None),
}

UPDATED_AT_TRIGGER_TABLES = [
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
]

# trigger → (table, timing and event, function)
EXPECTED_TRIGGERS: dict[str, tuple[str, str, str]] = {
    **{
        f"update_{table}_updated_at": (table, "BEFORE UPDATE", "update_updated_at_column")
        for table in UPDATED_AT_TRIGGER_TABLES
    },
    "activity_notify_trigger": ("activity_logs", "AFTER INSERT", "notify_new_activity"),
    "trigger_notify_ticket_message": ("support_ticket_replies", "AFTER INSERT", "notify_new_ticket_message"),
    "trigger_notify_ticket_status": ("support_tickets", "AFTER UPDATE", "notify_ticket_status_change"),
}

NOTIFIED_EVENTS = [
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
]
SILENT_EVENTS = [
    "auth.logout",
    "org.create",
    "admin_operation",
    "impersonation_start",
    "theme_update",
    "rate_limit_violation",
    "platform_settings.update",
]

PANEL_TABLE_NAMES = sorted(EXPECTED_COLUMNS)


# =============================================================================================
# Helpers
# =============================================================================================


@dataclass(frozen=True)
class World:
    """One row in every panel table, linked the way the panel links them."""

    owner: uuid.UUID
    member: uuid.UUID
    org: uuid.UUID
    membership: uuid.UUID
    wallet: uuid.UUID
    api_key: uuid.UUID
    container: uuid.UUID
    provider: uuid.UUID
    plan: uuid.UUID
    vps: uuid.UUID
    transaction: uuid.UUID
    cycle: uuid.UUID
    ticket: uuid.UUID
    reply: uuid.UUID
    pricing: uuid.UUID
    container_plan: uuid.UUID
    networking: uuid.UUID
    stackscript: int


async def build_world(conn: asyncpg.Connection) -> World:
    tag = uuid.uuid4().hex[:8]

    async def insert(sql: str, *args: object) -> Any:
        return await conn.fetchval(sql, *args)

    owner = await insert(
        "INSERT INTO users (email, password_hash, name) VALUES ($1, 'x', 'Olive Owner') RETURNING id",
        f"owner-{tag}@example.test",
    )
    member = await insert(
        "INSERT INTO users (email, password_hash, name) VALUES ($1, 'x', 'Milo Member') RETURNING id",
        f"member-{tag}@example.test",
    )
    org = await insert(
        "INSERT INTO organizations (name, slug, owner_id) VALUES ('World Co', $1, $2) RETURNING id",
        f"world-co-{tag}",
        owner,
    )
    membership = await insert(
        "INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2) RETURNING id", org, member
    )
    wallet = await insert("INSERT INTO wallets (organization_id, balance) VALUES ($1, 10) RETURNING id", org)
    api_key = await insert(
        "INSERT INTO user_api_keys (user_id, key_name, key_hash, key_prefix) "
        "VALUES ($1, 'ci', 'aGFzaA==', 'sk_live_abcd...') RETURNING id",
        owner,
    )
    container = await insert(
        "INSERT INTO containers (name, image, organization_id, created_by) "
        "VALUES ('web', 'nginx:1', $1, $2) RETURNING id",
        org,
        member,
    )
    provider = await insert(
        "INSERT INTO service_providers (name, type, api_key_encrypted) VALUES ('Linode', 'linode', 't') RETURNING id"
    )
    plan = await insert(
        "INSERT INTO vps_plans (name, provider_plan_id, provider_id, base_price) "
        "VALUES ('Linode 2GB', 'g6-standard-1', $1, 12) RETURNING id",
        provider,
    )
    vps = await insert(
        "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label) "
        "VALUES ($1, $2, '4242', 'world-1') RETURNING id",
        org,
        str(plan),
    )
    transaction = await insert(
        "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, status) "
        "VALUES ($1, -0.02, 'wallet_debit', 'internal', 'completed') RETURNING id",
        org,
    )
    cycle = await insert(
        "INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, "
        "billing_period_end, hourly_rate, total_amount, status, payment_transaction_id) "
        "VALUES ($1, $2, now() - interval '1 hour', now(), 0.0205, 0.02, 'billed', $3) RETURNING id",
        vps,
        org,
        transaction,
    )
    ticket = await insert(
        "INSERT INTO support_tickets (organization_id, created_by, subject, message, category) "
        "VALUES ($1, $2, 'Help', 'Something is broken', 'technical') RETURNING id",
        org,
        member,
    )
    reply = await insert(
        "INSERT INTO support_ticket_replies (ticket_id, user_id, message) VALUES ($1, $2, 'more info') RETURNING id",
        ticket,
        member,
    )
    pricing = await insert("INSERT INTO container_pricing_config DEFAULT VALUES RETURNING id")
    container_plan = await insert(
        "INSERT INTO container_plans (name, cpu_cores, ram_gb, storage_gb) VALUES ('small', 1, 1, 10) RETURNING id"
    )
    networking = await insert("INSERT INTO networking_config DEFAULT VALUES RETURNING id")
    stackscript = await insert(
        "INSERT INTO vps_stackscript_configs (stackscript_id) VALUES (777) RETURNING stackscript_id"
    )
    return World(
        owner, member, org, membership, wallet, api_key, container, provider, plan, vps, transaction, cycle,
        ticket, reply, pricing, container_plan, networking, stackscript,
    )  # fmt: skip


def _row_key(table: str, world: World) -> tuple[str, object]:
    """The primary key column and value of the world's row in `table`."""
    keys: dict[str, tuple[str, Callable[[World], object]]] = {
        "users": ("id", lambda w: w.owner),
        "organizations": ("id", lambda w: w.org),
        "wallets": ("id", lambda w: w.wallet),
        "user_api_keys": ("id", lambda w: w.api_key),
        "containers": ("id", lambda w: w.container),
        "vps_instances": ("id", lambda w: w.vps),
        "support_tickets": ("id", lambda w: w.ticket),
        "vps_plans": ("id", lambda w: w.plan),
        "payment_transactions": ("id", lambda w: w.transaction),
        "container_pricing_config": ("id", lambda w: w.pricing),
        "container_plans": ("id", lambda w: w.container_plan),
        "service_providers": ("id", lambda w: w.provider),
        "vps_billing_cycles": ("id", lambda w: w.cycle),
        "networking_config": ("id", lambda w: w.networking),
        "vps_stackscript_configs": ("stackscript_id", lambda w: w.stackscript),
    }
    column, pick = keys[table]
    return column, pick(world)


async def _count(conn: asyncpg.Connection, table: str, where: str, *args: object) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", *args)


class Listener:
    """Collects NOTIFY payloads on a dedicated asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self.queue.put_nowait((channel, json.loads(payload)))

    async def listen(self, *channels: str) -> None:
        for channel in channels:
            await self.conn.add_listener(channel, self._on_notify)

    async def next(self) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.queue.get(), timeout=30)


@asynccontextmanager
async def listening(db: Database, *channels: str) -> AsyncIterator[Listener]:
    connection = await db.connect()
    listener = Listener(connection)
    try:
        await listener.listen(*channels)
        yield listener
    finally:
        await connection.close()


def _items(report: DriftReport, severity: str) -> list[DriftItem]:
    return [item for item in report.items if item.severity == severity]


def _load_revision() -> ModuleType:
    return importlib.import_module("migrations.versions.0001_panel_baseline")


# =============================================================================================
# Tables and columns
# =============================================================================================


async def test_panel_tables_exist_with_reference_columns_types_nullability_and_defaults(
    conn: asyncpg.Connection,
) -> None:
    rows = await conn.fetch(
        """
        SELECT c.relname AS table_name, a.attname AS column_name,
               format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
               pg_get_expr(d.adbin, d.adrelid) AS default_expr
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relname = ANY($1::text[])
        """,
        PANEL_TABLE_NAMES,
    )
    found: dict[str, set[tuple[str, str, bool, str | None]]] = {}
    for row in rows:
        found.setdefault(row["table_name"], set()).add(
            (row["column_name"], row["type"], row["not_null"], row["default_expr"])
        )
    assert sorted(found) == PANEL_TABLE_NAMES
    for table, columns in EXPECTED_COLUMNS.items():
        assert found[table] == set(columns), table


async def test_every_panel_table_has_its_pkey_constraint(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT conname, conrelid::regclass::text AS table_name, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype = 'p' AND conrelid::regclass::text = ANY($1::text[])",
        PANEL_TABLE_NAMES,
    )
    found = {row["table_name"]: (row["conname"], row["def"]) for row in rows}
    expected = {
        table: (
            f"{table}_pkey",
            "PRIMARY KEY (stackscript_id)" if table == "vps_stackscript_configs" else "PRIMARY KEY (id)",
        )
        for table in PANEL_TABLE_NAMES
    }
    assert found == expected


async def test_foreign_keys_have_panel_names_targets_and_delete_actions(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        SELECT con.conname, rel.relname AS table_name, a.attname AS column_name, frel.relname AS ref_table,
               CASE con.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'c' THEN 'CASCADE'
                    WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' ELSE 'SET DEFAULT' END AS on_delete
          FROM pg_constraint con
          JOIN pg_class rel ON rel.oid = con.conrelid
          JOIN pg_class frel ON frel.oid = con.confrelid
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
         WHERE con.contype = 'f' AND rel.relname = ANY($1::text[])
        """,
        PANEL_TABLE_NAMES,
    )
    found = {(r["conname"], r["table_name"], r["column_name"], r["ref_table"], r["on_delete"]) for r in rows}
    assert found == set(EXPECTED_FKS)


async def test_unique_and_check_constraints_have_panel_names(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        SELECT con.conname, con.contype::text AS kind, rel.relname AS table_name,
               ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols
          FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
         WHERE con.contype IN ('u', 'c') AND rel.relname = ANY($1::text[])
        """,
        PANEL_TABLE_NAMES,
    )
    uniques = {r["conname"]: (r["table_name"], list(r["cols"])) for r in rows if r["kind"] == "u"}
    checks = {r["conname"]: r["table_name"] for r in rows if r["kind"] == "c"}
    assert uniques == EXPECTED_UNIQUES
    assert checks == EXPECTED_CHECKS


async def test_indexes_have_panel_names_columns_and_predicates(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, t.relname AS table_name, pg_get_indexdef(x.indexrelid) AS def,
               pg_get_expr(x.indpred, x.indrelid) AS predicate
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
         WHERE t.relname = ANY($1::text[])
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u'))
        """,
        PANEL_TABLE_NAMES,
    )
    found = {}
    for row in rows:
        columns = re.search(r"USING btree \((.*?)\)(?: WHERE|$)", row["def"])
        assert columns is not None, row["def"]
        found[row["name"]] = (row["table_name"], columns.group(1), row["predicate"])
    assert found == EXPECTED_INDEXES


async def test_wallets_allow_more_than_one_row_per_organization(conn: asyncpg.Connection) -> None:
    """The reference: organization_id is *not* unique; the app assumes one row per org."""
    world = await build_world(conn)
    await conn.execute("INSERT INTO wallets (organization_id) VALUES ($1)", world.org)
    assert await _count(conn, "wallets", "organization_id = $1", world.org) == 2


# =============================================================================================
# CHECK, UNIQUE and FK behaviour
# =============================================================================================

CHECK_VIOLATIONS: list[tuple[str, str]] = [
    ("users_role_check", "INSERT INTO users (email, password_hash, name, role) VALUES ('r@x.test', 'h', 'R', 'root')"),
    ("organization_members_role_check", "UPDATE organization_members SET role = 'guest'"),
    (
        "support_tickets_status_check",
        "INSERT INTO support_tickets (organization_id, created_by, subject, message, status, category) "
        "SELECT id, owner_id, 'Subject', 'A message', 'waiting', 'general' FROM organizations LIMIT 1",
    ),
    (
        "support_tickets_priority_check",
        "INSERT INTO support_tickets (organization_id, created_by, subject, message, priority, category) "
        "SELECT id, owner_id, 'Subject', 'A message', 'critical', 'general' FROM organizations LIMIT 1",
    ),
    (
        # The app's cancel endpoint writes 'cancelled', which the panel's CHECK rejects.
        "payment_transactions_status_check",
        "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, status) "
        "SELECT id, 5, 'paypal', 'paypal', 'cancelled' FROM organizations LIMIT 1",
    ),
    (
        "service_providers_type_check",
        "INSERT INTO service_providers (name, type, api_key_encrypted) VALUES ('Vultr', 'vultr', '')",
    ),
    (
        "vps_billing_cycles_status_check",
        "WITH v AS (INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label) "
        "SELECT id, 'g6-nanode-1', '1', 'x' FROM organizations LIMIT 1 RETURNING id, organization_id) "
        "INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, "
        "billing_period_end, hourly_rate, total_amount, status) "
        "SELECT id, organization_id, now(), now(), 0.01, 0.01, 'paid' FROM v",
    ),
    (
        "activity_logs_status_check",
        "INSERT INTO activity_logs (user_id, event_type, entity_type, status) "
        "SELECT id, 'auth.login', 'user', 'debug' FROM users LIMIT 1",
    ),
    (
        # An anonymous rate_limit_violation (entity api_request) is rejected since 015.
        "activity_logs_user_or_system_check",
        "INSERT INTO activity_logs (user_id, event_type, entity_type) "
        "VALUES (NULL, 'rate_limit_violation', 'api_request')",
    ),
]


@pytest.mark.parametrize(("constraint", "statement"), CHECK_VIOLATIONS, ids=[c for c, _ in CHECK_VIOLATIONS])
async def test_check_constraint_rejects_value_outside_reference_list(
    conn: asyncpg.Connection, constraint: str, statement: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError) as raised:
        await conn.execute(statement)
    assert raised.value.constraint_name == constraint


async def test_activity_logs_accept_system_event_without_user(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO activity_logs (user_id, event_type, entity_type, status) "
        "VALUES (NULL, 'rate_limit_config', 'system', 'info')"
    )
    assert await _count(conn, "activity_logs", "event_type = 'rate_limit_config' AND user_id IS NULL") >= 1


UNIQUE_VIOLATIONS: list[tuple[str, str]] = [
    (
        "users_email_key",
        "INSERT INTO users (email, password_hash, name) VALUES ('admin@containerstacks.com', 'h', 'Dup')",
    ),
    (
        "organizations_slug_key",
        "INSERT INTO organizations (name, slug, owner_id) SELECT 'Dup', 'containerstacks-admin', id FROM users LIMIT 1",
    ),
    (
        "organization_members_organization_id_user_id_key",
        "INSERT INTO organization_members (organization_id, user_id, role) "
        "SELECT organization_id, user_id, 'admin' FROM organization_members LIMIT 1",
    ),
]


@pytest.mark.parametrize(("constraint", "statement"), UNIQUE_VIOLATIONS, ids=[c for c, _ in UNIQUE_VIOLATIONS])
async def test_unique_constraint_rejects_duplicate(conn: asyncpg.Connection, constraint: str, statement: str) -> None:
    with pytest.raises(asyncpg.UniqueViolationError) as raised:
        await conn.execute(statement)
    assert raised.value.constraint_name == constraint


async def test_deleting_user_cascades_owned_rows_and_nulls_container_creator(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    await conn.execute("DELETE FROM users WHERE id = $1", world.member)
    assert await _count(conn, "organization_members", "id = $1", world.membership) == 0
    assert await _count(conn, "support_tickets", "id = $1", world.ticket) == 0
    assert await _count(conn, "support_ticket_replies", "id = $1", world.reply) == 0
    assert await conn.fetchval("SELECT created_by FROM containers WHERE id = $1", world.container) is None
    await conn.execute("DELETE FROM users WHERE id = $1", world.owner)
    assert await _count(conn, "organizations", "id = $1", world.org) == 0
    assert await _count(conn, "user_api_keys", "id = $1", world.api_key) == 0


async def test_deleting_organization_cascades_to_everything_it_owns(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    await conn.execute("DELETE FROM organizations WHERE id = $1", world.org)
    for table, row_id in [
        ("wallets", world.wallet),
        ("organization_members", world.membership),
        ("containers", world.container),
        ("vps_instances", world.vps),
        ("payment_transactions", world.transaction),
        ("vps_billing_cycles", world.cycle),
        ("support_tickets", world.ticket),
        ("support_ticket_replies", world.reply),
    ]:
        assert await _count(conn, table, "id = $1", row_id) == 0, table
    assert await _count(conn, "users", "id = $1", world.owner) == 1


async def test_deleting_vps_instance_cascades_its_billing_cycles(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    await conn.execute("DELETE FROM vps_instances WHERE id = $1", world.vps)
    assert await _count(conn, "vps_billing_cycles", "id = $1", world.cycle) == 0


async def test_deleting_provider_sets_plan_provider_to_null(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    await conn.execute("DELETE FROM service_providers WHERE id = $1", world.provider)
    assert await conn.fetchval("SELECT provider_id FROM vps_plans WHERE id = $1", world.plan) is None


async def test_deleting_transaction_referenced_by_billing_cycle_is_refused(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    with pytest.raises(asyncpg.ForeignKeyViolationError) as raised:
        await conn.execute("DELETE FROM payment_transactions WHERE id = $1", world.transaction)
    assert raised.value.constraint_name == "vps_billing_cycles_payment_transaction_id_fkey"


async def test_deleting_ticket_cascades_replies(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    await conn.execute("DELETE FROM support_tickets WHERE id = $1", world.ticket)
    assert await _count(conn, "support_ticket_replies", "id = $1", world.reply) == 0


# =============================================================================================
# Triggers and functions
# =============================================================================================


async def test_triggers_are_exactly_the_reference_set(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relname = ANY($1::text[])",
        PANEL_TABLE_NAMES,
    )
    found = {row["tgname"]: re.sub(r"\bpublic\.", "", row["def"]) for row in rows}
    assert found == {
        name: f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        for name, (table, when, function) in EXPECTED_TRIGGERS.items()
    }


UPDATED_AT_TABLES = [*UPDATED_AT_TRIGGER_TABLES, "vps_stackscript_configs"]


@pytest.mark.parametrize("table", UPDATED_AT_TABLES)
async def test_updated_at_is_forced_to_now_only_on_reference_tables(conn: asyncpg.Connection, table: str) -> None:
    world = await build_world(conn)
    key, value = _row_key(table, world)
    async with conn.transaction():
        now = await conn.fetchval("SELECT now()")
        written = await conn.fetchval(
            f"UPDATE {table} SET updated_at = '2001-02-03 04:05:06+00' WHERE {key} = $1 RETURNING updated_at", value
        )
    if table in UPDATED_AT_TRIGGER_TABLES:
        assert written == now
    else:
        assert written.year == 2001


async def test_tables_without_updated_at_have_no_updated_at_column(conn: asyncpg.Connection) -> None:
    columns = await conn.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'updated_at' AND table_name = ANY($1::text[])",
        PANEL_TABLE_NAMES,
    )
    assert {row["table_name"] for row in columns} == set(UPDATED_AT_TABLES)


async def test_functions_exist_with_reference_signatures(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT p.proname, oidvectortypes(p.proargtypes) AS args, pg_get_function_result(p.oid) AS result "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname = ANY($1::text[])",
        [
            "update_updated_at_column",
            "notify_new_activity",
            "notify_new_ticket_message",
            "notify_ticket_status_change",
            "mark_notification_read",
            "mark_all_notifications_read",
            "uuid_generate_v4",
        ],
    )
    assert {(r["proname"], r["args"], r["result"]) for r in rows} == {
        ("update_updated_at_column", "", "trigger"),
        ("notify_new_activity", "", "trigger"),
        ("notify_new_ticket_message", "", "trigger"),
        ("notify_ticket_status_change", "", "trigger"),
        ("mark_notification_read", "uuid, uuid", "boolean"),
        ("mark_all_notifications_read", "uuid", "integer"),
        ("uuid_generate_v4", "", "uuid"),
    }


async def test_mark_notification_functions_flag_only_unread_rows_of_that_user(conn: asyncpg.Connection) -> None:
    world = await build_world(conn)
    ids = [
        await conn.fetchval(
            "INSERT INTO activity_logs (user_id, event_type, entity_type) VALUES ($1, 'vps.boot', 'vps') RETURNING id",
            user,
        )
        for user in (world.owner, world.owner, world.owner, world.member)
    ]
    assert await conn.fetchval("SELECT mark_notification_read($1, $2)", ids[0], world.member) is False
    assert await conn.fetchval("SELECT mark_notification_read($1, $2)", ids[0], world.owner) is True
    assert await conn.fetchval("SELECT mark_notification_read($1, $2)", ids[0], world.owner) is False
    assert await conn.fetchval("SELECT mark_all_notifications_read($1)", world.owner) == 2
    assert await conn.fetchval("SELECT mark_all_notifications_read($1)", world.owner) == 0
    assert await conn.fetchval("SELECT is_read FROM activity_logs WHERE id = $1", ids[3]) is False
    assert await conn.fetchval("SELECT read_at IS NOT NULL FROM activity_logs WHERE id = $1", ids[1]) is True


@pytest.mark.parametrize("flavour", ["baseline", "panel"])
async def test_activity_notify_sends_user_events_and_skips_others(flavour: str, templates: dict[str, str]) -> None:
    async with _scratch(flavour, templates[flavour]) as db:
        writer = await db.connect()
        try:
            world = await build_world(writer)
            async with listening(db, "new_activity") as listener:
                for event in [*SILENT_EVENTS, *NOTIFIED_EVENTS]:
                    await writer.execute(
                        "INSERT INTO activity_logs (user_id, organization_id, event_type, entity_type, entity_id, "
                        "message, status) VALUES ($1, $2, $3, 'vps', 'e-1', 'hello', 'success')",
                        world.owner,
                        world.org,
                        event,
                    )
                received = [await listener.next() for _ in NOTIFIED_EVENTS]
        finally:
            await writer.close()
    assert [payload["event_type"] for _, payload in received] == NOTIFIED_EVENTS
    channel, payload = received[0]
    assert channel == "new_activity"
    assert set(payload) == {
        "id", "user_id", "organization_id", "event_type", "entity_type", "entity_id",
        "message", "status", "created_at", "is_read",
    }  # fmt: skip
    assert (payload["user_id"], payload["organization_id"]) == (str(world.owner), str(world.org))
    assert (payload["entity_id"], payload["message"], payload["status"], payload["is_read"]) == (
        "e-1",
        "hello",
        "success",
        False,
    )


@pytest.mark.parametrize("flavour", ["baseline", "panel"])
async def test_ticket_reply_notifies_ticket_and_org_channels_and_staff_reply_flags_ticket(
    flavour: str, templates: dict[str, str]
) -> None:
    async with _scratch(flavour, templates[flavour]) as db:
        writer = await db.connect()
        try:
            world = await build_world(writer)
            channels = (f"ticket_{world.ticket}", f"org_tickets_{world.org}")
            async with listening(db, *channels) as listener:
                user_reply = await writer.fetchval(
                    "INSERT INTO support_ticket_replies (ticket_id, user_id, message) "
                    "VALUES ($1, $2, 'still broken') RETURNING id",
                    world.ticket,
                    world.member,
                )
                after_user = await writer.fetchval(
                    "SELECT has_staff_reply FROM support_tickets WHERE id = $1", world.ticket
                )
                staff_reply = await writer.fetchval(
                    "INSERT INTO support_ticket_replies (ticket_id, user_id, message, is_staff_reply) "
                    "VALUES ($1, $2, 'on it', true) RETURNING id",
                    world.ticket,
                    world.owner,
                )
                received = [await listener.next() for _ in range(4)]
            after_staff = await writer.fetchval(
                "SELECT has_staff_reply FROM support_tickets WHERE id = $1", world.ticket
            )
        finally:
            await writer.close()
    assert after_user is False
    assert after_staff is True
    assert sorted(channel for channel, _ in received) == sorted([*channels, *channels])
    by_message = {(channel, payload["message_id"]): payload for channel, payload in received}
    staff = by_message[(channels[1], str(staff_reply))]
    assert set(staff) == {
        "type",
        "ticket_id",
        "message_id",
        "organization_id",
        "is_staff_reply",
        "message",
        "created_at",
    }
    assert (staff["type"], staff["ticket_id"], staff["organization_id"]) == (
        "ticket_message",
        str(world.ticket),
        str(world.org),
    )
    assert (staff["is_staff_reply"], staff["message"]) == (True, "on it")
    assert by_message[(channels[0], str(user_reply))]["is_staff_reply"] is False


@pytest.mark.parametrize("flavour", ["baseline", "panel"])
async def test_ticket_status_change_notifies_only_when_status_changes(flavour: str, templates: dict[str, str]) -> None:
    async with _scratch(flavour, templates[flavour]) as db:
        writer = await db.connect()
        try:
            world = await build_world(writer)
            channels = (f"ticket_{world.ticket}", f"org_tickets_{world.org}")
            async with listening(db, *channels) as listener:
                await writer.execute("UPDATE support_tickets SET priority = 'high' WHERE id = $1", world.ticket)
                await writer.execute("UPDATE support_tickets SET status = 'in_progress' WHERE id = $1", world.ticket)
                received = [await listener.next() for _ in range(2)]
                updated_at = await writer.fetchval("SELECT updated_at FROM support_tickets WHERE id = $1", world.ticket)
        finally:
            await writer.close()
    assert sorted(channel for channel, _ in received) == sorted(channels)
    payload = received[0][1]
    assert set(payload) == {"type", "ticket_id", "organization_id", "old_status", "new_status", "updated_at"}
    assert (payload["type"], payload["old_status"], payload["new_status"]) == (
        "ticket_status_change",
        "open",
        "in_progress",
    )
    assert (payload["ticket_id"], payload["organization_id"]) == (str(world.ticket), str(world.org))
    assert payload["updated_at"] is not None and updated_at is not None


# =============================================================================================
# Row-level security on user_api_keys
# =============================================================================================


async def test_user_api_keys_rls_is_enabled_not_forced_with_one_permissive_policy(conn: asyncpg.Connection) -> None:
    flags = await conn.fetchrow(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'public.user_api_keys'::regclass"
    )
    assert (flags["relrowsecurity"], flags["relforcerowsecurity"]) == (True, False)
    policies = await conn.fetch(
        "SELECT policyname, permissive, roles::text[] AS roles, cmd, qual, with_check FROM pg_policies"
    )
    assert len(policies) == 1
    policy = policies[0]
    assert (policy["policyname"], policy["permissive"], list(policy["roles"]), policy["cmd"]) == (
        "Users can manage their own API keys",
        "PERMISSIVE",
        ["public"],
        "ALL",
    )
    assert policy["with_check"] is None
    assert normalize_expr(policy["qual"]) == normalize_expr(
        "user_id = current_setting('app.current_user_id', true)::uuid"
    )


async def test_user_api_keys_rls_shows_non_owner_only_rows_of_the_set_user(any_db: Database) -> None:
    role = f"cst_rls_{uuid.uuid4().hex[:10]}"
    conn = await any_db.connect()
    try:
        world = await build_world(conn)
        await conn.execute(
            "INSERT INTO user_api_keys (user_id, key_name, key_hash, key_prefix) "
            "VALUES ($1, 'm', 'bQ==', 'sk_live_m...')",
            world.member,
        )
        await conn.execute(f"CREATE ROLE {role} NOLOGIN")
        await conn.execute(f"GRANT SELECT ON user_api_keys TO {role}")
        owner_view = await conn.fetchval("SELECT count(*) FROM user_api_keys")
        await conn.execute(f"SET ROLE {role}")
        unset = await conn.fetchval("SELECT count(*) FROM user_api_keys")
        await conn.execute("SELECT set_config('app.current_user_id', $1, false)", str(world.member))
        visible = await conn.fetch("SELECT user_id FROM user_api_keys")
        await conn.execute("RESET ROLE")
    finally:
        await conn.close()
        await _drop_database(any_db.name)
        await _admin(f"DROP ROLE IF EXISTS {role}")
    assert owner_view >= 2
    assert unset == 0
    assert [row["user_id"] for row in visible] == [world.member]


# =============================================================================================
# Seed
# =============================================================================================


async def test_baseline_seed_admin_password_verifies_admin123(baseline_db: Database) -> None:
    conn = await baseline_db.connect()
    try:
        admin = await conn.fetchrow(
            "SELECT id, name, role, password_hash FROM users WHERE email = 'admin@containerstacks.com'"
        )
        org = await conn.fetchrow("SELECT id, name, owner_id FROM organizations WHERE slug = 'containerstacks-admin'")
        member_role = await conn.fetchval(
            "SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2", org["id"], admin["id"]
        )
        wallets = await conn.fetch("SELECT balance, currency FROM wallets WHERE organization_id = $1", org["id"])
    finally:
        await conn.close()
    assert (admin["name"], admin["role"]) == ("System Administrator", "admin")
    assert admin["password_hash"].startswith("$2a$12$")
    assert bcrypt.checkpw(b"admin123", admin["password_hash"].encode())
    assert (org["name"], org["owner_id"]) == ("ContainerStacks Admin", admin["id"])
    assert member_role == "owner"
    assert [(str(w["balance"]), w["currency"]) for w in wallets] == [("0.00", "USD")]


async def test_panel_fixture_keeps_the_panel_non_verifying_seed_hash(panel_db: Database) -> None:
    conn = await panel_db.connect()
    try:
        stored = await conn.fetchval("SELECT password_hash FROM users WHERE email = 'admin@containerstacks.com'")
    finally:
        await conn.close()
    assert stored == "$2a$12$LQv3c1yqBWVHxkd0LHAkCOYz6TtxMQJqhN8/LewdBPj/RK.s5uO9G"
    assert not bcrypt.checkpw(b"admin123", stored.encode())


async def test_seed_includes_inactive_digitalocean_provider_and_eight_plans(conn: asyncpg.Connection) -> None:
    providers = await conn.fetch(
        "SELECT id, name, api_key_encrypted, configuration::text AS configuration, active "
        "FROM service_providers WHERE type = 'digitalocean'"
    )
    assert [(p["name"], p["api_key_encrypted"], p["configuration"], p["active"]) for p in providers] == [
        ("DigitalOcean", "", "{}", False)
    ]
    plans = await conn.fetch(
        "SELECT provider_plan_id, base_price::text AS base, markup_price::text AS markup, specifications, active "
        "FROM vps_plans WHERE provider_id = $1",
        providers[0]["id"],
    )
    assert {(p["provider_plan_id"], p["base"], p["markup"]) for p in plans} == {
        ("s-1vcpu-1gb", "6.00", "2.00"),
        ("s-1vcpu-2gb", "12.00", "3.00"),
        ("s-2vcpu-4gb", "24.00", "6.00"),
        ("s-4vcpu-8gb", "48.00", "12.00"),
        ("s-8vcpu-16gb", "96.00", "24.00"),
        ("c-2", "42.00", "10.00"),
        ("c-4", "84.00", "20.00"),
        ("m-2vcpu-16gb", "120.00", "30.00"),
    }
    for plan in plans:
        assert plan["active"] is True
        assert set(json.loads(plan["specifications"])) == {
            "vcpus", "memory", "disk", "transfer", "price_monthly", "price_hourly",
        }  # fmt: skip


async def test_rerunning_baseline_seed_inserts_nothing_twice(baseline_db: Database) -> None:
    revision = _load_revision()
    seeds = [
        statement
        for statement in revision.split_sql_statements(BASELINE_SQL.read_text(encoding="utf-8"))
        if re.sub(r"(?m)^\s*--.*$", "", statement).strip().startswith("INSERT")
    ]
    assert len(seeds) == 6
    conn = await baseline_db.connect()
    try:
        tables = ["users", "organizations", "organization_members", "wallets", "service_providers", "vps_plans"]
        before = [await conn.fetchval(f"SELECT count(*) FROM {table}") for table in tables]
        for statement in seeds:
            await conn.execute(statement)
        after = [await conn.fetchval(f"SELECT count(*) FROM {table}") for table in tables]
    finally:
        await conn.close()
    assert after == before


# =============================================================================================
# uuid_generate_v4() without the uuid-ossp extension
# =============================================================================================


def _fallback_block() -> str:
    script = BASELINE_SQL.read_text(encoding="utf-8")
    match = re.search(r"-- BEGIN uuid_generate_v4 fallback\n(.*?)-- END uuid_generate_v4 fallback", script, re.S)
    assert match is not None
    return match.group(1)


async def test_uuid_fallback_block_defines_v4_generator_where_extension_is_absent(empty_db: Database) -> None:
    conn = await empty_db.connect()
    try:
        await conn.execute(_fallback_block())
        await conn.execute(_fallback_block())  # idempotent
        values = [await conn.fetchval("SELECT uuid_generate_v4()") for _ in range(5)]
        extensions = await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'uuid-ossp'")
        schema = await conn.fetchval(
            "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = 'uuid_generate_v4'"
        )
    finally:
        await conn.close()
    assert extensions == 0
    assert schema == "public"
    assert len(set(values)) == 5
    assert all(value.version == 4 and value.variant == uuid.RFC_4122 for value in values)


async def test_baseline_falls_back_when_role_may_not_create_extensions(empty_db: Database) -> None:
    """A role without CREATE on the database cannot install uuid-ossp; the baseline still works."""
    role = f"cst_noext_{uuid.uuid4().hex[:10]}"
    conn = await empty_db.connect()
    try:
        await conn.execute(f"CREATE ROLE {role} NOLOGIN")
        await conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
        await conn.execute(f"SET ROLE {role}")
        await conn.execute(BASELINE_SQL.read_text(encoding="utf-8"))
        await conn.execute("RESET ROLE")
        extensions = await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'uuid-ossp'")
        new_id = await conn.fetchval(
            "INSERT INTO users (email, password_hash, name) VALUES ('f@x.test', 'h', 'F') RETURNING id"
        )
    finally:
        await conn.close()
    try:
        report = await empty_db.drift()
    finally:
        await _drop_database(empty_db.name)
        await _admin(f"DROP ROLE IF EXISTS {role}")
    assert extensions == 0
    assert new_id.version == 4
    assert report.items == ()


# =============================================================================================
# Alembic revision
# =============================================================================================


def test_split_sql_statements_keeps_quoted_and_dollar_bodies_whole() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n"
        "INSERT INTO t VALUES ('a;b', '$2a$12$x;y', \"odd;name\");\n"
        "DO $body$ BEGIN PERFORM 1; END $body$;\n"
        "/* block; comment */ SELECT 1"
    )
    statements = _load_revision().split_sql_statements(script)
    assert len(statements) == 4
    assert statements[0].endswith("$$ LANGUAGE plpgsql")
    assert "'$2a$12$x;y'" in statements[1]
    assert statements[2].startswith("DO $body$")
    assert statements[3].endswith("SELECT 1")


async def test_revision_upgrade_builds_reference_schema_and_downgrade_removes_it(empty_db: Database) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    revision = _load_revision()
    assert (revision.revision, revision.down_revision) == ("0001_panel_baseline", None)

    def run(step: Callable[[], None]) -> Callable[[Any], None]:
        def inner(sync_conn: Any) -> None:
            with Operations.context(MigrationContext.configure(sync_conn)):
                step()

        return inner

    async with empty_db.sqlalchemy() as sa_conn:
        await sa_conn.run_sync(run(revision.upgrade))
        await sa_conn.commit()
        report = await inspect_drift(sa_conn, tables=PANEL_TABLES)
        admins = (await sa_conn.execute(text("SELECT count(*) FROM users WHERE role = 'admin'"))).scalar_one()
        await sa_conn.run_sync(run(revision.downgrade))
        await sa_conn.commit()
        leftovers = (
            await sa_conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v')) "
                    "     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "        WHERE n.nspname = 'public') "
                    "     + (SELECT count(*) FROM pg_extension WHERE extname = 'uuid-ossp')"
                )
            )
        ).scalar_one()
    assert report.items == ()
    assert admins == 1
    assert leftovers == 0


async def test_alembic_upgrade_through_env_applies_baseline(empty_db: Database) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def upgrade(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, "0001_panel_baseline")

    async with empty_db.sqlalchemy() as sa_conn:
        await sa_conn.run_sync(upgrade)
        await sa_conn.commit()
        version = (await sa_conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        report = await inspect_drift(sa_conn, tables=PANEL_TABLES)
    assert version == "0001_panel_baseline"
    assert report.items == ()


async def test_metadata_create_all_matches_baseline_tables(empty_db: Database) -> None:
    """schema.py emits the same tables the baseline builds (functions/triggers aside)."""
    conn = await empty_db.connect()
    try:
        await conn.execute(_fallback_block())
    finally:
        await conn.close()
    async with empty_db.sqlalchemy() as sa_conn:
        await sa_conn.run_sync(lambda sync_conn: metadata.create_all(sync_conn, tables=list(PANEL_TABLES)))
        await sa_conn.commit()
        report = await inspect_drift(sa_conn, tables=PANEL_TABLES, check_objects=False)
    assert report.items == ()


# =============================================================================================
# Drift checker
# =============================================================================================


async def test_drift_baseline_database_is_clean(baseline_db: Database) -> None:
    report = await baseline_db.drift()
    assert report.items == ()
    assert report.is_compatible and not report.has_drift
    assert report.render() == "No drift: 18 tables match the expected schema."


async def test_drift_panel_built_database_is_compatible_without_drift(panel_db: Database) -> None:
    report = await panel_db.drift()
    assert report.is_compatible
    assert not report.has_drift, report.render()
    assert [(item.severity, item.object) for item in report.items] == [("extra", "table provider_metadata")]


async def test_drift_skypanel_database_reports_only_extras(panel_db: Database) -> None:
    await _apply_sql(panel_db.name, SKYPANEL_SQL)
    report = await panel_db.drift()
    assert report.is_compatible and not report.has_drift, report.render()
    objects = {item.object for item in report.items}
    assert {
        "vps_instances.provider_id",
        "vps_instances.backup_frequency",
        "constraint vps_instances_backup_frequency_check on vps_instances",
        "constraint vps_instances_provider_id_fkey on vps_instances",
        "index idx_vps_instances_provider_id",
        "service_providers.display_order",
        "vps_plans.backup_price_hourly",
        "table user_ssh_keys",
    } <= objects
    display_order = next(item for item in report.items if item.object == "service_providers.display_order")
    assert "inserts that omit it will fail" in display_order.message


async def test_drift_panel_rows_are_untouched_by_inspection(panel_db: Database) -> None:
    async def snapshot() -> list[object]:
        conn = await panel_db.connect()
        try:
            return [
                await conn.fetchval(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")
                for table in PANEL_TABLE_NAMES
            ]
        finally:
            await conn.close()

    before = await snapshot()
    await panel_db.drift()
    assert await snapshot() == before
    conn = await panel_db.connect()
    try:
        balance = await conn.fetchval(
            "SELECT balance::text FROM wallets WHERE organization_id = '44444444-4444-4444-8444-444444444444'"
        )
    finally:
        await conn.close()
    assert balance == "42.50"


DAMAGE: list[tuple[str, str, str, str, str]] = [
    # (id, SQL, severity, object, message fragment)
    ("drop-column", "ALTER TABLE users DROP COLUMN phone", "incompatible", "users.phone", "missing column"),
    (
        "retype-column",
        "ALTER TABLE wallets ALTER COLUMN balance TYPE numeric(12,2)",
        "incompatible",
        "wallets.balance",
        "type expected numeric(10,2), found numeric(12,2)",
    ),
    ("drop-table", "DROP TABLE vps_stackscript_configs", "incompatible", "table vps_stackscript_configs", "missing"),
    ("drop-index", "DROP INDEX idx_users_email", "drift", "index idx_users_email", "missing"),
    (
        "drop-trigger",
        "DROP TRIGGER update_users_updated_at ON users",
        "drift",
        "trigger update_users_updated_at on users",
        "missing",
    ),
    (
        "disable-trigger",
        "ALTER TABLE support_tickets DISABLE TRIGGER trigger_notify_ticket_status",
        "drift",
        "trigger trigger_notify_ticket_status on support_tickets",
        "disabled",
    ),
    ("change-default", "ALTER TABLE users ALTER COLUMN role SET DEFAULT 'admin'", "drift", "users.role", "default"),
    (
        "set-not-null",
        "UPDATE users SET phone = ''; ALTER TABLE users ALTER COLUMN phone SET NOT NULL",
        "drift",
        "users.phone",
        "NOT NULL",
    ),
    (
        "fk-cascade-instead-of-set-null",
        "ALTER TABLE vps_plans DROP CONSTRAINT vps_plans_provider_id_fkey; "
        "ALTER TABLE vps_plans ADD CONSTRAINT vps_plans_provider_id_fkey FOREIGN KEY (provider_id) "
        "REFERENCES service_providers(id) ON DELETE CASCADE",
        "drift",
        "constraint vps_plans_provider_id_fkey on vps_plans",
        "ON DELETE CASCADE",
    ),
    (
        "check-widened",
        "ALTER TABLE payment_transactions DROP CONSTRAINT payment_transactions_status_check; "
        "ALTER TABLE payment_transactions ADD CONSTRAINT payment_transactions_status_check "
        "CHECK (status IN ('pending', 'completed', 'failed', 'refunded', 'cancelled'))",
        "drift",
        "constraint payment_transactions_status_check on payment_transactions",
        "defined differently",
    ),
    (
        "drop-check",
        "ALTER TABLE users DROP CONSTRAINT users_role_check",
        "drift",
        "constraint users_role_check on users",
        "missing",
    ),
    (
        "drop-policy",
        'DROP POLICY "Users can manage their own API keys" ON user_api_keys',
        "drift",
        'policy "Users can manage their own API keys" on user_api_keys',
        "missing",
    ),
    (
        "force-rls",
        "ALTER TABLE user_api_keys FORCE ROW LEVEL SECURITY",
        "drift",
        "row-level security on user_api_keys",
        "forced",
    ),
    (
        "drop-function",
        "DROP FUNCTION mark_all_notifications_read(uuid)",
        "drift",
        "function mark_all_notifications_read(uuid)",
        "missing",
    ),
    (
        "drop-uuid-generator",
        'DROP EXTENSION IF EXISTS "uuid-ossp" CASCADE; DROP FUNCTION IF EXISTS public.uuid_generate_v4() CASCADE',
        "incompatible",
        "function uuid_generate_v4()",
        "missing",
    ),
    ("extra-column", "ALTER TABLE users ADD COLUMN nickname text", "extra", "users.nickname", "extra column text"),
]


@pytest.mark.parametrize(("sql", "severity", "obj", "fragment"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
async def test_drift_reports_damage_with_right_severity(
    baseline_db: Database, sql: str, severity: str, obj: str, fragment: str
) -> None:
    conn = await baseline_db.connect()
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
    report = await baseline_db.drift()
    matching = [item for item in report.items if item.object == obj]
    assert matching, report.render()
    assert any(item.severity == severity and fragment in item.message for item in matching), report.render()
    if severity != "incompatible" and obj != "function uuid_generate_v4()":
        assert report.is_compatible, report.render()
    assert report.has_drift == (severity != "extra")


async def test_drift_render_groups_items_and_ends_with_summary(baseline_db: Database) -> None:
    conn = await baseline_db.connect()
    try:
        await conn.execute(
            "ALTER TABLE users DROP COLUMN phone; DROP INDEX idx_users_email; "
            "ALTER TABLE users ADD COLUMN nickname text"
        )
    finally:
        await conn.close()
    rendered = (await baseline_db.drift()).render()
    lines = rendered.splitlines()
    assert lines[0].startswith("Incompatible")
    assert "  ! users.phone: missing column (expected character varying(50) NULL)" in lines
    assert any(line.startswith("Drift") for line in lines)
    assert "  ~ index idx_users_email: missing: expected index on users (email)" in lines
    assert any(line.startswith("Extra") for line in lines)
    assert "  + users.nickname: extra column text NULL" in lines
    assert lines[-1] == "Summary: 1 incompatible, 1 drift, 1 extra across 18 tables; NOT compatible."


def test_drift_report_flags_follow_severities() -> None:
    extra = DriftItem("extra", "table x", "not in the expected schema")
    drift = DriftItem("drift", "index y", "missing")
    broken = DriftItem("incompatible", "t.c", "missing column")
    assert DriftReport((extra,)).is_compatible and not DriftReport((extra,)).has_drift
    assert DriftReport((drift,)).is_compatible and DriftReport((drift,)).has_drift
    assert not DriftReport((broken, extra)).is_compatible
    assert DriftReport((extra,), ("t",)).render() == (
        "No drift: 1 tables match the expected schema; 1 extra object(s), informational.\n"
        "  + table x: not in the expected schema"
    )


@pytest.mark.parametrize(
    ("declared", "catalog"),
    [
        ("VARCHAR(255)", "character varying(255)"),
        ("NUMERIC(10, 2)", "numeric(10,2)"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp with time zone"),
        ("TIMESTAMP WITHOUT TIME ZONE", "timestamp without time zone"),
        ("TIMESTAMP", "timestamp without time zone"),
        ("TIMESTAMPTZ", "timestamp with time zone"),
        ("INT", "integer"),
        ("BOOL", "boolean"),
        ("TEXT[]", "text[]"),
        ("UUID", "uuid"),
    ],
)
def test_normalize_type_matches_format_type_spelling(declared: str, catalog: str) -> None:
    assert normalize_type(declared) == normalize_type(catalog) == catalog


@pytest.mark.parametrize(
    ("declared", "catalog"),
    [
        ("'user'", "'user'::character varying"),
        ("'{}'::jsonb", "'{}'::jsonb"),
        ("'{}'", "'{}'::jsonb"),
        ("now()", "now()"),
        ("NOW()", "now()"),
        ("CURRENT_TIMESTAMP", "now()"),
        ("0", "0.00"),
        ("true", "TRUE"),
        ("uuid_generate_v4()", "public.uuid_generate_v4()"),
        ("'ip.rev.skyvps360.xyz'", "'ip.rev.skyvps360.xyz'::text"),
    ],
)
def test_same_default_ignores_casts_case_and_numeric_spelling(declared: str, catalog: str) -> None:
    assert same_default(declared, catalog)


@pytest.mark.parametrize(
    ("declared", "catalog"),
    [("'user'", "'admin'::character varying"), ("0", "1"), ("now()", None), ("'a b'", "'ab'")],
)
def test_same_default_tells_different_values_apart(declared: str, catalog: str | None) -> None:
    assert not same_default(declared, catalog)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        (
            "status IN ('pending', 'sending')",
            "((status)::text = ANY ((ARRAY['pending'::character varying, 'sending'::character varying])::text[]))",
        ),
        ("reset_token IS NOT NULL", "(reset_token IS NOT NULL)"),
        (
            "user_id = current_setting('app.current_user_id', true)::uuid",
            "(user_id = (current_setting('app.current_user_id'::text, true))::uuid)",
        ),
    ],
)
def test_normalize_expr_equates_postgresql_rewrites_with_written_sql(written: str, stored: str) -> None:
    assert normalize_expr(written) == normalize_expr(stored)

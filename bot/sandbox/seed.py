"""The sandbox's demo data, written the way the panel writes it and safe to apply on every start.

Two organisations, an owner (alice), a member (bob) and a staff user (sam, ``users.role = admin``)
with panel-style ``$2a$`` bcrypt hashes of known demo passwords; VPS plans whose Linode types exist
in the Linode emulator; a linode service provider holding the emulator's token; the emulator's
StackScript 10079; and a networking_config row. Every insert is guarded (ON CONFLICT / NOT EXISTS),
so restarting the sandbox on the same data directory changes nothing that is already there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.panel_passwords import panel_hash

PROVIDER_NAME = "Linode (sandbox emulator)"
STACKSCRIPT_ID = 10079
RDNS_BASE = "ip.sandbox.containerstacks.test"


@dataclass(frozen=True)
class DemoUser:
    """A panel account and the Slack user a person plays in the console."""

    handle: str  # Slack display name and console name (`:user alice`)
    slack_id: str
    name: str
    email: str
    password: str
    role: str  # users.role: 'user' or 'admin' (staff)
    blurb: str
    workspace: str = "acme"  # the Slack workspace (domain) they are a member of: the customer's, or "support"


@dataclass(frozen=True)
class DemoOrg:
    name: str
    slug: str
    owner: str  # handle
    members: tuple[tuple[str, str], ...]  # (handle, role)
    balance: Decimal


@dataclass(frozen=True)
class DemoPlan:
    name: str
    linode_type: str
    base: Decimal
    markup: Decimal
    vcpus: int
    memory: int
    disk: int
    transfer: int


USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "alice", "U0ALICE01", "Alice Owner", "alice@demo.containerstacks.test", "alice-demo-1", "user",
        "owner of Acme Demo and Globex Demo",
    ),
    DemoUser(
        "bob", "U0BOB0001", "Bob Member", "bob@demo.containerstacks.test", "bob-demo-1", "user",
        "member of Acme Demo",
    ),
    DemoUser(
        "sam", "U0SAM0001", "Sam Staff", "sam@demo.containerstacks.test", "sam-demo-1", "admin",
        "staff (panel admin)", "support",
    ),
)  # fmt: skip

ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("Acme Demo", "acme-demo", "alice", (("bob", "member"),), Decimal("50.00")),
    DemoOrg("Globex Demo", "globex-demo", "alice", (), Decimal("0.00")),
)

PLANS: tuple[DemoPlan, ...] = (
    DemoPlan("Nanode 1 GB", "g6-nanode-1", Decimal("5.00"), Decimal("1.00"), 1, 1024, 25600, 1000),
    DemoPlan("Linode 2 GB", "g6-standard-1", Decimal("10.00"), Decimal("2.00"), 1, 2048, 51200, 2000),
    DemoPlan("Linode 4 GB", "g6-standard-2", Decimal("24.00"), Decimal("4.00"), 2, 4096, 81920, 4000),
)

_HASH_COST = 10  # the panel uses 12; 10 keeps the first start quick and is still a real bcrypt hash


def user_by_handle(handle: str) -> DemoUser | None:
    return next((u for u in USERS if u.handle == handle.lower()), None)


async def seed(engine: AsyncEngine, linode_token: str) -> None:
    """Apply the demo data; existing rows (same email, slug, plan type…) are left as they are."""
    async with engine.begin() as conn:
        ids = {user.handle: await _user(conn, user) for user in USERS}
        for org in ORGS:
            await _org(conn, org, ids)
        provider_id = await _provider(conn, linode_token)
        for plan in PLANS:
            await _plan(conn, plan, provider_id)
        await conn.execute(
            text(
                "INSERT INTO vps_stackscript_configs (stackscript_id, label, description, is_enabled, display_order) "
                "VALUES (:id, 'MySQL server', 'Installs and configures MySQL (emulator StackScript)', true, 1) "
                "ON CONFLICT (stackscript_id) DO NOTHING"
            ),
            {"id": STACKSCRIPT_ID},
        )
        await conn.execute(
            text(
                "INSERT INTO networking_config (rdns_base_domain) SELECT CAST(:d AS text) "
                "WHERE NOT EXISTS (SELECT 1 FROM networking_config)"
            ),
            {"d": RDNS_BASE},
        )


async def _user(conn: AsyncConnection, user: DemoUser) -> object:
    existing = (await conn.execute(text("SELECT id FROM users WHERE email = :e"), {"e": user.email})).scalar()
    if existing is not None:
        return existing
    return (
        await conn.execute(
            text("INSERT INTO users (email, password_hash, name, role) VALUES (:e, :h, :n, :r) RETURNING id"),
            {"e": user.email, "h": panel_hash(user.password, cost=_HASH_COST), "n": user.name, "r": user.role},
        )
    ).scalar_one()


async def _org(conn: AsyncConnection, org: DemoOrg, ids: dict[str, object]) -> None:
    org_id = (await conn.execute(text("SELECT id FROM organizations WHERE slug = :s"), {"s": org.slug})).scalar()
    if org_id is None:
        org_id = (
            await conn.execute(
                text("INSERT INTO organizations (name, slug, owner_id) VALUES (:n, :s, :o) RETURNING id"),
                {"n": org.name, "s": org.slug, "o": ids[org.owner]},
            )
        ).scalar_one()
        await conn.execute(
            text("INSERT INTO wallets (organization_id, balance) VALUES (:o, :b)"), {"o": org_id, "b": org.balance}
        )
    for handle, role in ((org.owner, "owner"), *org.members):
        await conn.execute(
            text(
                "INSERT INTO organization_members (organization_id, user_id, role) VALUES (:o, :u, :r) "
                "ON CONFLICT (organization_id, user_id) DO NOTHING"
            ),
            {"o": org_id, "u": ids[handle], "r": role},
        )


async def _provider(conn: AsyncConnection, token: str) -> object:
    """The linode provider row; its (plaintext, panel-era) key is the emulator's token."""
    row = (
        await conn.execute(
            text("SELECT id FROM service_providers WHERE type = 'linode' AND name = :n"), {"n": PROVIDER_NAME}
        )
    ).scalar()
    if row is not None:
        await conn.execute(
            text("UPDATE service_providers SET api_key_encrypted = :k, active = true WHERE id = :i"),
            {"k": token, "i": row},
        )
        return row
    return (
        await conn.execute(
            text(
                "INSERT INTO service_providers (name, type, api_key_encrypted, configuration, active) "
                "VALUES (:n, 'linode', :k, '{}'::jsonb, true) RETURNING id"
            ),
            {"n": PROVIDER_NAME, "k": token},
        )
    ).scalar_one()


async def _plan(conn: AsyncConnection, plan: DemoPlan, provider_id: object) -> None:
    monthly = plan.base + plan.markup
    specs = {
        "vcpus": plan.vcpus,
        "memory": plan.memory,
        "disk": plan.disk,
        "transfer": plan.transfer,
        "price_monthly": float(monthly),
        "price_hourly": round(float(monthly) / 730, 4),
        "region": "us-east",
    }
    await conn.execute(
        text(
            "INSERT INTO vps_plans (name, provider_plan_id, provider_id, base_price, markup_price, specifications) "
            "SELECT CAST(:n AS varchar), CAST(:p AS varchar), CAST(:pid AS uuid), :b, :m, CAST(:s AS jsonb) "
            "WHERE NOT EXISTS (SELECT 1 FROM vps_plans WHERE provider_plan_id = :p AND provider_id = :pid)"
        ),
        {"n": plan.name, "p": plan.linode_type, "pid": provider_id, "b": plan.base, "m": plan.markup,
         "s": json.dumps(specs)},
    )  # fmt: skip

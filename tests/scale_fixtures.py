"""Big organisations for the paging, menu and App Home tests, seeded set-based (one statement per kind of
row, with generate_series) the way the panel's own tables hold them.

Rows that would make the bot or later tests work on them (servers the biller charges, open tickets the
triage reconciler mirrors) are seeded out of their reach or removed when the test ends (`forget`).
"""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import OrgRecord, UserRecord, make_user, panel_hash, record_history


async def seed_servers(engine: AsyncEngine, org: OrgRecord, count: int) -> None:
    """`count` servers `srv-001`…, oldest first; no Linode id (''), so no billing run ever charges them."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, created_at) "
                "SELECT :o, 'g6-nanode-1', '', 'srv-' || lpad(g::text, 3, '0'), "
                "CASE WHEN g % 5 = 0 THEN 'stopped' ELSE 'running' END, "
                "TIMESTAMPTZ '2026-01-01 00:00+00' + make_interval(mins => g) FROM generate_series(1, :n) g"
            ),
            {"o": org.id, "n": count},
        )


async def seed_tickets(engine: AsyncEngine, org: OrgRecord, user: UserRecord, count: int) -> None:
    """`count` open tickets `Ticket 001`…, the newest (most recently active) the highest number."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO support_tickets (organization_id, created_by, subject, message, category, priority, "
                "created_at, updated_at) "
                "SELECT :o, :u, 'Ticket ' || lpad(g::text, 3, '0'), 'Something is wrong with server ' || g, "
                "'technical', 'medium', now() - make_interval(hours => 1000 - g), "
                "now() - make_interval(hours => 1000 - g) FROM generate_series(1, :n) g"
            ),
            {"o": org.id, "u": user.id, "n": count},
        )


async def seed_members(engine: AsyncEngine, org: OrgRecord, count: int) -> None:
    """`count` more members of `org` (new panel users), one statement each for users and memberships."""
    tag = secrets.token_hex(3)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "WITH made AS (INSERT INTO users (email, password_hash, name, role) "
                "SELECT 'member' || g || '-' || :tag || '@example.com', :h, 'Member ' || lpad(g::text, 3, '0'), "
                "'user' FROM generate_series(1, :n) g RETURNING id) "
                "INSERT INTO organization_members (organization_id, user_id, role) SELECT :o, id, 'member' FROM made"
            ),
            {"o": org.id, "n": count, "tag": tag, "h": panel_hash("not used 1")},
        )


async def seed_ledger(engine: AsyncEngine, org: OrgRecord, count: int) -> None:
    """`count` past completed top-ups of 1.00 (the wallet already holds them: the opening moves back)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payment_transactions (organization_id, amount, currency, payment_method, "
                "payment_provider, status, description, created_at) "
                "SELECT :o, 1.00, 'USD', 'paypal', 'paypal', 'completed', 'Top-up ' || lpad(g::text, 4, '0'), "
                "TIMESTAMPTZ '2026-01-01 00:00+00' + make_interval(mins => g) FROM generate_series(1, :n) g"
            ),
            {"o": org.id, "n": count},
        )
        await record_history(conn, org.id, Decimal(count))


async def seed_memberships(engine: AsyncEngine, user: UserRecord, count: int, *, prefix: str) -> list[uuid.UUID]:
    """`count` organisations `<prefix> 01`… owned by someone else, with `user` a member of each (no wallet:
    nothing here is billed)."""
    owner = await make_user(engine)
    tag = secrets.token_hex(3)
    async with engine.begin() as conn:
        made = await conn.execute(
            text(
                "WITH made AS (INSERT INTO organizations (name, slug, owner_id) "
                "SELECT :p || ' ' || lpad(g::text, 2, '0'), lower(replace(:p, ' ', '-')) || '-' || g || '-' || :tag, "
                ":owner FROM generate_series(1, :n) g RETURNING id) "
                "INSERT INTO organization_members (organization_id, user_id, role) "
                "SELECT id, :u, 'member' FROM made RETURNING organization_id"
            ),
            {"p": prefix, "tag": tag, "owner": owner.id, "u": user.id, "n": count},
        )
        return [row.organization_id for row in made]


async def ensure_organisations(engine: AsyncEngine, count: int) -> int:
    """At least `count` organisations in the database (staff see every one); returns how many there are."""
    async with engine.begin() as conn:
        have = (await conn.execute(text("SELECT count(*) FROM organizations"))).scalar_one()
        if have < count:
            owner = await make_user(engine)
            await conn.execute(
                text(
                    "INSERT INTO organizations (name, slug, owner_id) SELECT 'Scale Org ' || g, "
                    "'scale-org-' || g || '-' || :tag, :owner FROM generate_series(1, :n) g"
                ),
                {"tag": secrets.token_hex(3), "owner": owner.id, "n": count - have},
            )
        return int((await conn.execute(text("SELECT count(*) FROM organizations"))).scalar_one())


async def forget(engine: AsyncEngine, org: OrgRecord) -> None:
    """Remove the organisation's seeded servers and tickets, so later tests' workers never see them."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM support_tickets WHERE organization_id = :o"), {"o": org.id})
        await conn.execute(
            text("DELETE FROM vps_instances WHERE organization_id = :o AND provider_instance_id = ''"),
            {"o": org.id},
        )

"""Test data written the way the panel writes it (raw SQL into the shared tables)."""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import panel_passwords as passwords
from bot.emulators.slack import SlackEmulator
from tests.conftest import TEAM_ID

_counter = itertools.count(1)


@dataclass(frozen=True)
class UserRecord:
    id: uuid.UUID
    email: str
    name: str
    password: str


@dataclass(frozen=True)
class OrgRecord:
    id: uuid.UUID
    name: str
    slug: str


def panel_hash(password: str) -> str:
    """A bcryptjs-style `$2a$` hash (cost 4 keeps tests fast; the panel uses 12)."""
    return passwords.panel_hash(password, cost=4)


async def make_user(
    engine: AsyncEngine, *, name: str | None = None, email: str | None = None, password: str = "correct horse 1",
    role: str = "user",
) -> UserRecord:  # fmt: skip
    n = next(_counter)
    name = name or f"Test User {n}"
    email = email or f"user{n}-{secrets.token_hex(3)}@example.com"
    async with engine.begin() as conn:
        user_id = (
            await conn.execute(
                text("INSERT INTO users (email, password_hash, name, role) VALUES (:e, :h, :n, :r) RETURNING id"),
                {"e": email, "h": panel_hash(password), "n": name, "r": role},
            )
        ).scalar_one()
    return UserRecord(id=user_id, email=email, name=name, password=password)


async def make_org(
    engine: AsyncEngine, owner: UserRecord, *, name: str | None = None, balance: Decimal = Decimal("0.00")
) -> OrgRecord:
    """Organisation + owner membership + wallet, as the panel's registration does."""
    n = next(_counter)
    name = name or f"Org {n}"
    slug = f"org-{n}-{secrets.token_hex(3)}"
    async with engine.begin() as conn:
        org_id = (
            await conn.execute(
                text("INSERT INTO organizations (name, slug, owner_id) VALUES (:n, :s, :o) RETURNING id"),
                {"n": name, "s": slug, "o": owner.id},
            )
        ).scalar_one()
        await conn.execute(
            text("INSERT INTO organization_members (organization_id, user_id, role) VALUES (:o, :u, 'owner')"),
            {"o": org_id, "u": owner.id},
        )
        await conn.execute(
            text("INSERT INTO wallets (organization_id, balance) VALUES (:o, :b)"), {"o": org_id, "b": balance}
        )
    return OrgRecord(id=org_id, name=name, slug=slug)


async def set_balance(conn: AsyncConnection, org_id: uuid.UUID, balance: Decimal) -> None:
    """The panel (or an admin) sets a wallet's balance without a ledger row: the recorded opening
    moves by the same amount, so the ledger invariant still holds (`tests.ledger_invariant`)."""
    current = (
        await conn.execute(text("SELECT balance FROM wallets WHERE organization_id = :o"), {"o": org_id})
    ).scalar_one()
    await adjust_balance(conn, org_id, balance - current)


async def adjust_balance(conn: AsyncConnection, org_id: uuid.UUID, delta: Decimal) -> None:
    """The wallet changes by `delta` without a ledger row; its recorded opening moves with it."""
    await conn.execute(
        text("UPDATE csbot_test.wallet_openings SET opening = opening + :d WHERE organization_id = :o"),
        {"d": delta, "o": org_id},
    )
    await conn.execute(
        text("UPDATE wallets SET balance = balance + :d WHERE organization_id = :o"), {"d": delta, "o": org_id}
    )


async def record_history(conn: AsyncConnection, org_id: uuid.UUID, amount: Decimal) -> None:
    """A completed ledger row the test wrote as past history: the balance already includes it, so
    the recorded opening is what the wallet held before it."""
    await conn.execute(
        text("UPDATE csbot_test.wallet_openings SET opening = opening - :a WHERE organization_id = :o"),
        {"a": amount, "o": org_id},
    )


async def add_member(engine: AsyncEngine, org: OrgRecord, user: UserRecord, role: str = "member") -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO organization_members (organization_id, user_id, role) VALUES (:o, :u, :r)"),
            {"o": org.id, "u": user.id, "r": role},
        )


async def link_slack(
    engine: AsyncEngine, slack_user_id: str, user: UserRecord, *, team_id: str = TEAM_ID, via: str = "password"
) -> None:
    """Link a Slack identity directly (tests of other features skip the link page)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_slack_identities (enterprise_id, team_id, slack_user_id, user_id, linked_via) "
                "VALUES ('', :t, :s, :u, :v)"
            ),
            {"t": team_id, "s": slack_user_id, "u": user.id, "v": via},
        )


def new_slack_user_id() -> str:
    return "U0" + secrets.token_hex(4).upper()


def add_slack_user(slack: SlackEmulator, *, name: str | None = None, email: str | None = None, **profile: Any) -> str:
    """A fresh Slack user known to the emulator (Slack rejects calls about unknown users)."""
    user_id = new_slack_user_id()
    slack.add_user(user_id, name=name or user_id.lower(), email=email, **profile)
    return user_id


async def many_orgs(
    engine: AsyncEngine, owner: UserRecord, count: int, *, name: str = "Org", members: tuple[UserRecord, ...] = ()
) -> list[uuid.UUID]:
    """`count` organisations in one statement (`{name} 1`…), each with its owner and a wallet, as
    `make_org` makes one; every one of `members` joins them all as a member."""
    prefix = f"bulk-{secrets.token_hex(4)}"
    async with engine.begin() as conn:
        ids = list(
            (
                await conn.execute(
                    text(
                        "WITH orgs AS (INSERT INTO organizations (name, slug, owner_id) "
                        "  SELECT :name || ' ' || g, :prefix || '-' || g, :owner FROM generate_series(1, :n) g "
                        "  RETURNING id), "
                        "owners AS (INSERT INTO organization_members (organization_id, user_id, role) "
                        "  SELECT id, :owner, 'owner' FROM orgs), "
                        "wallets AS (INSERT INTO wallets (organization_id, balance) SELECT id, 0 FROM orgs) "
                        "SELECT id FROM orgs"
                    ),
                    {"name": name, "prefix": prefix, "owner": owner.id, "n": count},
                )
            ).scalars()
        )
        for member in members:
            await conn.execute(
                text(
                    "INSERT INTO organization_members (organization_id, user_id, role) "
                    "SELECT o, :u, 'member' FROM unnest(CAST(:ids AS uuid[])) o"
                ),
                {"u": member.id, "ids": ids},
            )
    return ids

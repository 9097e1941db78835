"""Billing test helpers: organisations, plans and servers written the panel's way, per-test cleanup,
and small readers. Each test works in its own era (distinct years, long before the real clock) and
its servers are deleted afterwards, so billing runs never touch other tests' servers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.rendering.notices import written
from bot.services.billing import BillingPolicy, bill_batch
from bot.settings import Settings
from tests.factories import (
    OrgRecord,
    adjust_balance,
    link_slack,
    make_org,
    make_user,
    new_slack_user_id,
    record_history,
)

STAFF_CHANNEL = "C0BILLSTAFF"

H = timedelta(hours=1)


@dataclass
class BillingWorld:
    """Creates orgs, plans and servers for one test and removes the servers afterwards."""

    engine: AsyncEngine
    servers: list[uuid.UUID]

    async def org(self, balance: str = "100.00") -> OrgRecord:
        owner = await make_user(self.engine)
        return await make_org(self.engine, owner, balance=Decimal(balance))

    async def plan(self, monthly: str, markup: str = "0.00", provider_plan_id: str | None = None) -> uuid.UUID:
        async with self.engine.begin() as conn:
            return (
                await conn.execute(
                    text(
                        "INSERT INTO vps_plans (name, provider_plan_id, base_price, markup_price, specifications) "
                        "VALUES (:n, :p, :b, :m, '{}') RETURNING id"
                    ),
                    {
                        "n": f"plan {monthly}",
                        "p": provider_plan_id or f"g6-test-{uuid.uuid4().hex[:8]}",
                        "b": Decimal(monthly),
                        "m": Decimal(markup),
                    },
                )
            ).scalar_one()

    async def server(
        self,
        org: OrgRecord,
        created_at: datetime,
        *,
        plan_id: str = "unknown-type",
        last_billed_at: datetime | None = None,
        status: str = "running",
        provider_instance_id: str = "12345",
        label: str | None = None,
    ) -> uuid.UUID:
        async with self.engine.begin() as conn:
            server_id = (
                await conn.execute(
                    text(
                        "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, "
                        "created_at, last_billed_at) VALUES (:o, :p, :pi, :l, :s, :c, :lb) RETURNING id"
                    ),
                    {
                        "o": org.id,
                        "p": plan_id,
                        "pi": provider_instance_id,
                        "l": label or f"web-{uuid.uuid4().hex[:6]}",
                        "s": status,
                        "c": created_at,
                        "lb": last_billed_at,
                    },
                )
            ).scalar_one()
        self.servers.append(server_id)
        return server_id


def world_fixture() -> Callable[[AsyncEngine], AsyncIterator[BillingWorld]]:
    """`world = world_fixture()` in a test module gives its tests a `world` fixture."""

    @pytest.fixture
    async def world(engine: AsyncEngine) -> AsyncIterator[BillingWorld]:
        w = BillingWorld(engine, [])
        yield w
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM vps_instances WHERE id = ANY(:ids)"), {"ids": w.servers})

    return world  # type: ignore[return-value]


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def balance(engine: AsyncEngine, org: OrgRecord) -> Decimal:
    return await scalar(engine, "SELECT balance FROM wallets WHERE organization_id = :o", o=org.id)


async def charges(engine: AsyncEngine, server_id: uuid.UUID) -> list[Any]:
    return await rows(
        engine,
        "SELECT c.billing_period_start, c.billing_period_end, c.total_amount, c.status, c.hourly_rate, "
        "c.payment_transaction_id, c.metadata AS cmeta, t.amount, t.description, t.metadata AS tmeta, t.status AS ts, "
        "t.payment_method, t.payment_provider "
        "FROM vps_billing_cycles c LEFT JOIN payment_transactions t ON t.id = c.payment_transaction_id "
        "WHERE c.vps_instance_id = :s ORDER BY c.billing_period_start",
        s=server_id,
    )


async def org_in_slack(engine: AsyncEngine, balance_: str) -> tuple[OrgRecord, str, str]:
    """An organisation with a bound billing channel and an owner linked to Slack."""
    owner = await make_user(engine)
    org = await make_org(engine, owner, balance=Decimal(balance_))
    owner_slack = new_slack_user_id()
    await link_slack(engine, owner_slack, owner)
    channel = "C0" + secrets.token_hex(4).upper()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id) VALUES ('T0CSBOT01', :c, :o)"
            ),
            {"c": channel, "o": org.id},
        )
    return org, channel, owner_slack


@dataclass(frozen=True)
class Queued:
    channel: str
    dedupe_key: str | None
    payload: dict[str, Any]  # as it will be sent: a queued notice with its words


async def outbox(engine: AsyncEngine, *targets: str, kind: str = "post") -> list[Queued]:
    """Queued messages (``kind`` "post"), or files shared with them (``kind`` "upload")."""
    found = await rows(
        engine, "SELECT channel, dedupe_key, payload FROM bot_outbox WHERE channel = ANY(:t) AND kind = :k "
        "ORDER BY id", t=list(targets), k=kind,
    )  # fmt: skip
    return [Queued(r.channel, r.dedupe_key, written(r.payload)) for r in found]


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"summary_cron": "0 9 * * *", "timezone": "UTC", "admin_channel": STAFF_CHANNEL}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def add_topup(engine: AsyncEngine, org_id: Any, amount: str, at: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payment_transactions (organization_id, amount, currency, payment_method, payment_provider,"
                " provider_transaction_id, status, description, created_at) VALUES (:o, :a, 'USD', 'paypal', 'paypal',"
                " :p, 'completed', 'Wallet top-up', :c)"
            ),
            {"o": org_id, "a": Decimal(amount), "p": secrets.token_hex(8).upper(), "c": at},
        )
        await record_history(conn, org_id, Decimal(amount))  # the balance already held it


async def top_up(engine: AsyncEngine, org: OrgRecord, amount: str) -> None:
    """Funds arrive without a ledger row the billing cares about (the opening moves with them)."""
    async with engine.begin() as conn:
        await adjust_balance(conn, org.id, Decimal(amount))


async def bill_org(
    engine: AsyncEngine, org_id: uuid.UUID, now: datetime, policy: BillingPolicy | None = None
) -> tuple[Any, int]:
    """One billing batch for this organisation only (the engine's own statements, as a run's batch
    runs them): tests on real-time servers must not bill other tests' rows in the shared database."""
    async with engine.begin() as conn:
        outcome, power_offs = await bill_batch(conn, [org_id], now, policy or BillingPolicy())
    return outcome.get(org_id), power_offs


async def panel_ledger(engine: AsyncEngine, org_id: uuid.UUID) -> list[Any]:
    """The organisation's ledger as the panel lists it: completed rows by (created_at, id)."""
    return await rows(
        engine,
        "SELECT id, amount, description, metadata, created_at FROM payment_transactions "
        "WHERE organization_id = :o AND status = 'completed' ORDER BY created_at, id",
        o=org_id,
    )

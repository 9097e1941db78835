"""Several runners at once (replicas, CLI processes) charge every hour exactly once."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.billing import run_billing
from tests.billing_fixtures import BillingWorld, H, balance, charges, scalar, world_fixture

world = world_fixture()

ROOT = Path(__file__).resolve().parents[1]


async def test_four_concurrent_runners_charge_each_hour_once(engine: AsyncEngine, world: BillingWorld) -> None:
    anchor = datetime(2017, 6, 1, tzinfo=UTC)
    orgs = [await world.org("50.00") for _ in range(3)]
    servers = [await world.server(org, anchor) for org in orgs for _ in range(3)]
    now = anchor + 6 * H

    results = await asyncio.gather(*(run_billing(engine, now, source=f"replica-{n}", batch_hours=1) for n in range(4)))

    assert sum(r.hours_charged for r in results) >= 9 * 7  # every hour charged (some runs may see the others' work)
    assert [len(await charges(engine, s)) for s in servers] == [7] * 9
    distinct = await scalar(
        engine,
        "SELECT count(DISTINCT (vps_instance_id, billing_period_start)) FROM vps_billing_cycles "
        "WHERE vps_instance_id = ANY(:s)",
        s=servers,
    )
    assert distinct == 63
    # 7 hours of a server from the 1st of the month: round(7 × 0.027, 2) = 0.19 each, three servers per org
    assert [await balance(engine, org) for org in orgs] == [Decimal("49.43")] * 3


async def test_two_csbot_billing_run_processes_charge_each_hour_once(
    engine: AsyncEngine, world: BillingWorld, database_url: str
) -> None:
    anchor = datetime(2017, 7, 1, tzinfo=UTC)
    org = await world.org("50.00")
    servers = [await world.server(org, anchor) for _ in range(4)]
    at = (anchor + 3 * H).isoformat()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAYPAL_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})

    async def csbot() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "billing", "run", "--at", at, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        return process.returncode or 0, out.decode() + err.decode()

    outcomes = await asyncio.gather(csbot(), csbot())

    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert any("Charged" in text for _, text in outcomes)
    assert [len(await charges(engine, s)) for s in servers] == [4] * 4
    assert await balance(engine, org) == Decimal("50.00") - 4 * Decimal("0.11")


async def test_csbot_billing_run_dry_run_prints_the_charges_and_changes_nothing(
    engine: AsyncEngine, world: BillingWorld, database_url: str
) -> None:
    anchor = datetime(2017, 8, 1, tzinfo=UTC)
    org = await world.org("50.00")
    server = await world.server(org, anchor)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAYPAL_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "billing", "run", "--at", (anchor + H).isoformat(), "--dry-run",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "dry run: nothing was changed" in out.decode()
    assert f"({org.id}): would charge 2 h, 0.05" in out.decode()
    assert await charges(engine, server) == []
    assert await balance(engine, org) == Decimal("50.00")

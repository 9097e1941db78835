"""`csbot migrate` on an empty database, on a panel-made database, twice, and when incompatible."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import asyncpg
import bcrypt
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.db.drift import inspect_drift
from bot.db.engine import create_engine, plain_url
from bot.db.migrate import (
    BASELINE_REVISION,
    SEED_ADMIN_EMAIL,
    IncompatibleDatabase,
    alembic_config,
    head_revision,
    migrate,
)
from bot.db.schema import PANEL_TABLES
from bot.panel_passwords import KNOWN_DEFAULT_PASSWORDS
from tests.factories import make_org, make_user

FIXTURES = Path(__file__).parent / "fixtures"
BOT_TABLES = ("bot_outbox", "bot_outbox_pace", "bot_slack_events")
NewDatabase = Callable[[], Awaitable[str]]


async def run_sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def panel_fingerprint(url: str) -> dict[str, str]:
    """A digest of every row of every panel table (that exists), to prove adoption changes no row."""
    fingerprints = {}
    for table in PANEL_TABLES:
        rows = await fetch(
            url,
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest "
            f"FROM {table.name} t",
        )
        fingerprints[table.name] = f"{rows[0]['n']}:{rows[0]['digest']}"
    return fingerprints


async def tables_present(url: str) -> set[str]:
    rows = await fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def migrate_url(url: str):
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        return await migrate(engine)
    finally:
        await engine.dispose()


async def test_migrate_on_empty_database_builds_the_schema_with_no_drift(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    outcome = await migrate_url(url)
    assert outcome.before is None and not outcome.adopted
    assert outcome.after == head_revision()
    assert outcome.applied[0] == BASELINE_REVISION
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            report = await inspect_drift(conn)
    finally:
        await engine.dispose()
    assert not report.has_drift, report.render()


async def seed_admin_hash(url: str) -> str:
    [row] = await fetch(url, f"SELECT password_hash FROM users WHERE email = '{SEED_ADMIN_EMAIL}'")
    return row["password_hash"]


async def test_a_database_built_from_empty_seeds_the_admin_with_a_random_password(fresh_database: NewDatabase) -> None:
    first, second = await fresh_database(), await fresh_database()
    outcome, other = await migrate_url(first), await migrate_url(second)
    stored = await seed_admin_hash(first)
    password = outcome.seed_admin_password
    assert password is not None and len(password) >= 24
    assert password != other.seed_admin_password  # random per database
    assert stored.startswith("$2a$12$")  # what the panel's bcryptjs writes and verifies
    assert bcrypt.checkpw(password.encode(), stored.encode())
    assert not any(bcrypt.checkpw(known.encode(), stored.encode()) for known in KNOWN_DEFAULT_PASSWORDS)
    assert password not in outcome.describe() and password not in repr(outcome)
    again = await migrate_url(first)
    assert again.seed_admin_password is None and await seed_admin_hash(first) == stored


async def test_adopting_a_panel_database_leaves_its_admin_password_alone(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    await run_sql(url, (FIXTURES / "panel_schema.sql").read_text())
    before = await seed_admin_hash(url)
    outcome = await migrate_url(url)
    assert outcome.adopted and outcome.seed_admin_password is None
    assert await seed_admin_hash(url) == before


async def test_migrate_twice_is_a_no_op(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    await migrate_url(url)
    before = await panel_fingerprint(url)
    second = await migrate_url(url)
    assert second.applied == () and not second.adopted
    assert "nothing to do" in second.describe()
    assert await panel_fingerprint(url) == before


async def test_concurrent_migrations_serialise_on_the_advisory_lock(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    outcomes = await asyncio.gather(migrate_url(url), migrate_url(url))
    assert sorted(len(o.applied) for o in outcomes)[0] == 0
    assert {o.after for o in outcomes} == {head_revision()}


async def test_panel_database_is_adopted_with_every_row_intact(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    await run_sql(url, (FIXTURES / "panel_schema.sql").read_text())
    before = await panel_fingerprint(url)
    assert sum(int(v.split(":")[0]) for v in before.values()) > 10  # the fixture really has data

    outcome = await migrate_url(url)

    assert outcome.adopted and outcome.before is None
    assert outcome.applied and outcome.applied[0] != BASELINE_REVISION  # baseline stamped, not run
    assert await panel_fingerprint(url) == before
    assert set(BOT_TABLES) <= await tables_present(url)
    version = await fetch(url, "SELECT version_num FROM alembic_version")
    assert [r["version_num"] for r in version] == [head_revision()]


async def test_skypanel_additions_do_not_block_adoption(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    await run_sql(url, (FIXTURES / "panel_schema.sql").read_text())
    await run_sql(url, (FIXTURES / "skypanel_extras.sql").read_text())
    outcome = await migrate_url(url)
    assert outcome.adopted


async def test_incompatible_panel_database_is_left_untouched(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    await run_sql(url, (FIXTURES / "panel_schema.sql").read_text())
    await run_sql(
        url,
        "ALTER TABLE wallets DROP COLUMN balance;"
        " ALTER TABLE support_tickets ALTER COLUMN subject TYPE integer USING 0",
    )
    before_tables = await tables_present(url)
    before_rows = await panel_fingerprint(url)

    with pytest.raises(IncompatibleDatabase) as caught:
        await migrate_url(url)

    message = str(caught.value)
    assert "wallets.balance" in message and "support_tickets.subject" in message
    assert "nothing was changed" in message
    assert await tables_present(url) == before_tables
    assert "alembic_version" not in before_tables
    assert await panel_fingerprint(url) == before_rows


def _csbot(*args: str, database_url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAYPAL_"))}
    env["DATABASE_URL"] = database_url
    env["LOG_FORMAT"] = "console"
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_db_check_reports_drift_and_exits_non_zero(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    unmigrated = await asyncio.to_thread(_csbot, "db", "check", database_url=url)
    assert unmigrated.returncode == 1
    assert "csbot migrate" in unmigrated.stdout

    migrated = await asyncio.to_thread(_csbot, "migrate", database_url=url)
    assert migrated.returncode == 0, migrated.stderr
    clean = await asyncio.to_thread(_csbot, "db", "check", database_url=url)
    assert clean.returncode == 0, clean.stdout
    assert "at head" in clean.stdout

    await run_sql(url, "DROP INDEX idx_users_email")
    drifted = await asyncio.to_thread(_csbot, "db", "check", database_url=url)
    assert drifted.returncode == 1
    assert "idx_users_email" in drifted.stdout


async def test_cli_migrate_refuses_an_incompatible_database(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    await run_sql(url, (FIXTURES / "panel_schema.sql").read_text())
    await run_sql(url, "ALTER TABLE vps_instances DROP COLUMN provider_instance_id")
    result = await asyncio.to_thread(_csbot, "migrate", database_url=url)
    assert result.returncode == 1
    assert "vps_instances.provider_instance_id" in result.stderr
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            exists = (await conn.execute(text("SELECT to_regclass('public.alembic_version')"))).scalar_one()
    finally:
        await engine.dispose()
    assert exists is None


async def test_cli_migrate_prints_the_seeded_admin_password_once_to_stdout_only(fresh_database: NewDatabase) -> None:
    url = await fresh_database()
    first = await asyncio.to_thread(_csbot, "migrate", database_url=url, LOG_FORMAT="json")
    assert first.returncode == 0, first.stderr
    [line] = [line.strip() for line in first.stdout.splitlines() if line.startswith("    ")]
    assert bcrypt.checkpw(line.encode(), (await seed_admin_hash(url)).encode())
    assert first.stdout.count(line) == 1 and SEED_ADMIN_EMAIL in first.stdout
    assert line not in first.stderr  # the logs (stderr) never see it
    second = await asyncio.to_thread(_csbot, "migrate", database_url=url, LOG_FORMAT="json")
    assert second.returncode == 0 and "password" not in second.stdout


async def test_paypal_trust_revision_gives_the_bots_old_refund_rows_their_refund_ids(
    fresh_database: NewDatabase,
) -> None:
    """Refund rows written before 0008 carried the order id, which the panel reads as the top-up's."""
    url = await fresh_database()
    before_trust = ScriptDirectory.from_config(alembic_config()).get_revision("0008_paypal_trust").down_revision
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), str(before_trust)))
        org = await make_org(engine, await make_user(engine))
        rows = {
            "topup": (Decimal("25.00"), "ORDER-1", {"payment_id": "ORDER-1"}),
            "refund": (Decimal("-10.00"), "ORDER-1", {"kind": "refund", "refund_id": "REFUND-1", "capture_id": "C1"}),
            "reversal": (Decimal("-15.00"), "ORDER-1", {"kind": "reversal", "refund_id": "REFUND-2"}),
            "panel_debit": (Decimal("-1.00"), None, {"kind": "refund"}),  # not one the bot wrote: no refund_id
        }
        ids = {name: uuid.uuid4() for name in rows}
        async with engine.begin() as conn:
            for name, (amount, provider_id, meta) in rows.items():
                await conn.execute(
                    text(
                        "INSERT INTO payment_transactions (id, organization_id, amount, currency, payment_method,"
                        " payment_provider, provider_transaction_id, status, metadata) VALUES (:i, :o, :a, 'USD',"
                        " 'paypal', 'paypal', :p, 'completed', CAST(:m AS jsonb))"
                    ),
                    {"i": ids[name], "o": org.id, "a": amount, "p": provider_id, "m": json.dumps(meta)},
                )
        await migrate(engine)
        async with engine.connect() as conn:
            found = {
                r.id: (r.provider_transaction_id, r.metadata)
                for r in await conn.execute(
                    text("SELECT id, provider_transaction_id, metadata FROM payment_transactions")
                )
            }
    finally:
        await engine.dispose()
    assert found[ids["topup"]] == ("ORDER-1", {"payment_id": "ORDER-1"})
    assert found[ids["refund"]][0] == "REFUND-1" and found[ids["refund"]][1]["order_id"] == "ORDER-1"
    assert found[ids["reversal"]][0] == "REFUND-2" and found[ids["reversal"]][1]["order_id"] == "ORDER-1"
    assert found[ids["panel_debit"]] == (None, {"kind": "refund"})


async def test_the_workspaces_revision_downgrades_and_upgrades_again_without_drift(fresh_database: NewDatabase) -> None:
    """0014 adds the installation, OAuth state and directory tables and the outbox's workspace columns;
    its downgrade removes exactly those (queued rows survive), and upgrading again leaves no drift."""
    url = await fresh_database()
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO bot_outbox (channel, payload, team_id) VALUES ('C1', '{}', 'T1')"))
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0013_slack_polish"))
        tables = await tables_present(url)
        assert not {"bot_slack_installations", "bot_slack_oauth_states", "bot_slack_conversations"} & tables
        assert [r["channel"] for r in await fetch(url, "SELECT channel FROM bot_outbox")] == ["C1"]
        await migrate(engine)
        async with engine.connect() as conn:
            report = await inspect_drift(conn)
    finally:
        await engine.dispose()
    assert not report.has_drift, report.render()

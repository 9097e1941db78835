"""SQL for hourly billing: set-based, one transaction per batch of organisations.

A batch runs a handful of statements whatever its size:
1. lock the batch's wallets `FOR UPDATE` in id order (one per organisation: the oldest, as the panel);
2. compute every due hour of every billable server into a temp table (generate_series), with its
   price (month-capped cumulative rounding), plus the hours owed from earlier runs, and a running
   total per organisation vs the balance;
3. one statement claims the `bot_ledger_keys` (`ON CONFLICT DO NOTHING RETURNING`) and, for the
   keys it won, writes the debits (in charge order for the panel's ledger, none for $0.00), the
   billing cycles, settles earlier failed cycles, debits the wallets conditionally and advances
   `last_billed_at`;
4. one statement records the hours the wallet could not pay, once each (`bot_billing_failures`),
   and advances `last_billed_at` past them too (so the panel's biller never charges them);
5. arrears bookkeeping and power-off jobs for the batch's organisations.
The primary keys decide exactly-once; a runner killed between statements commits nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

#: The panel's rate when a server's plan is unknown: 0.027/h, i.e. 0.027 × 730 a month.
DEFAULT_MONTHLY = Decimal("19.71")
HOURS_PER_MONTH = 730

#: Servers that are billed: every row except ones without a provider id or flagged gone.
BILLABLE = "coalesce(v.provider_instance_id, '') <> '' AND coalesce(v.status, '') NOT IN ('error', 'deleted')"


class WalletChanged(Exception):
    """A locked wallet did not cover what was computed for it: the batch is rolled back."""


@dataclass(frozen=True)
class OrgOutcome:
    organization_id: uuid.UUID
    hours_charged: int
    amount_charged: Decimal
    hours_unpaid: int
    amount_unpaid: Decimal
    hours_newly_failed: int


@dataclass(frozen=True)
class ArrearsState:
    organization_id: uuid.UUID
    name: str
    since: datetime
    notice_day: int
    amount_owed: Decimal  # unpaid hours plus a negative balance
    hours_owed: int
    servers: int
    currency: str
    balance: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class PowerOffRequest:
    server_id: uuid.UUID
    organization_id: uuid.UUID
    label: str
    dedupe_key: str
    organization_name: str


@dataclass(frozen=True)
class Debt:
    """An organisation's wallet and the hours it owes (recorded unpaid, not collected yet)."""

    balance: Decimal
    currency: str
    hours_owed: int
    hours_amount: Decimal


_DUE_ORGS = text(
    f"""
    SELECT organization_id, sum(hours)::bigint AS hours FROM (
        SELECT v.organization_id,
            greatest(1, floor(extract(epoch FROM CAST(:now AS timestamptz)
                                      - coalesce(v.last_billed_at, v.created_at)) / 3600) + 1) AS hours
        FROM vps_instances v
        WHERE {BILLABLE} AND coalesce(v.last_billed_at, v.created_at) <= CAST(:now AS timestamptz)
        UNION ALL
        SELECT organization_id, 1 FROM bot_billing_arrears
    ) due
    GROUP BY organization_id
    ORDER BY organization_id
    """
)
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('csbot.billing'), hashtext(CAST(:first AS text)))")
# JIT compilation costs ~0.5 s per statement here (generate_series inflates the estimates) and
# buys nothing for a few tens of thousands of rows.
# Sorts of a batch fit in memory; a long catch-up batch may take longer than the pool's default timeout.
_BATCH_SETTINGS = (
    text("DROP TABLE IF EXISTS pg_temp.billing_due, pg_temp.billing_wallets"),  # a second batch in one transaction
    text("SET LOCAL jit = off"),
    text("SET LOCAL work_mem = '64MB'"),
    text("SET LOCAL statement_timeout = '600s'"),
)
_LOCK_WALLETS = text(
    """
    SELECT id FROM wallets WHERE organization_id = ANY(CAST(:orgs AS uuid[])) ORDER BY id FOR UPDATE
    """
)
_BATCH_WALLETS = text(
    """
    CREATE TEMP TABLE billing_wallets ON COMMIT DROP AS
    SELECT DISTINCT ON (organization_id) id AS wallet_id, organization_id, balance,
        coalesce(currency, 'USD') AS currency
    FROM wallets WHERE organization_id = ANY(CAST(:orgs AS uuid[]))
    ORDER BY organization_id, created_at, id
    """
)
# Hour k of a server covers [anchor + k h, anchor + (k+1) h), anchor = created_at. Paid up to
# last_billed_at, rounded to the nearest hour of the server's grid (the panel's creation charge set
# it a few seconds after created_at). Within a UTC calendar month the cumulative charge after the
# server's i-th hour starting in that month is least(monthly, round(i × monthly / 730, 2)).
# `last_billed_at` also moves past hours the wallet could not pay (they are owed, in
# bot_billing_failures): the panel's biller charges rows whose last_billed_at is an hour old, and it
# must never charge an hour the bot charges or holds as owed. So the due hours are the server's new
# hours plus its owed ones (`owed`, also those of a server that is gone).
# An explicit :server is billed whatever its status (creation before Linode, deletion, gone at
# Linode); :force makes every due hour chargeable (a final charge may take the balance negative).
_DUE_HOURS = text(
    f"""
    CREATE TEMP TABLE billing_due ON COMMIT DROP AS
    WITH servers AS (
        SELECT v.id AS server_id, v.organization_id, v.label, v.plan_id, v.created_at AS anchor,
            CASE WHEN v.last_billed_at IS NULL THEN 0
                 ELSE greatest(0, round(extract(epoch FROM v.last_billed_at - v.created_at) / 3600))::bigint
            END AS k_from,
            floor(extract(epoch FROM CAST(:now AS timestamptz) - v.created_at) / 3600)::bigint AS k_to
        FROM vps_instances v
        WHERE v.organization_id IN (SELECT organization_id FROM billing_wallets)
          AND coalesce(v.last_billed_at, v.created_at) <= CAST(:now AS timestamptz)
          AND CASE WHEN CAST(:server AS uuid) IS NULL THEN {BILLABLE} ELSE v.id = CAST(:server AS uuid) END
    ),
    plans AS (
        SELECT s.plan_id, coalesce(p.monthly, {DEFAULT_MONTHLY}) AS monthly
        FROM (SELECT DISTINCT plan_id FROM servers) s
        LEFT JOIN LATERAL (
            SELECT coalesce(p.base_price, 0) + coalesce(p.markup_price, 0) AS monthly FROM vps_plans p
            WHERE p.id::text = s.plan_id OR p.provider_plan_id = s.plan_id
            ORDER BY (p.id::text = s.plan_id) DESC, p.active DESC, p.created_at, p.id
            LIMIT 1
        ) p ON true
    ),
    hours AS (
        SELECT s.server_id, s.organization_id, s.label, s.anchor, pl.monthly, k,
            s.anchor + k * interval '1 hour' AS period_start
        FROM servers s JOIN plans pl USING (plan_id)
        CROSS JOIN LATERAL generate_series(s.k_from, least(s.k_to, coalesce(CAST(:max_k AS bigint), s.k_to))) AS k
    ),
    numbered AS (
        SELECT h.*, h.k + 1 - greatest(0, ceil(extract(epoch FROM
            (date_trunc('month', h.period_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - h.anchor) / 3600)
        )::bigint AS i
        FROM hours h
    ),
    priced AS (
        SELECT n.*,
            least(n.monthly, round(n.i * n.monthly / {HOURS_PER_MONTH}, 2))
            - least(n.monthly, round((n.i - 1) * n.monthly / {HOURS_PER_MONTH}, 2)) AS amount
        FROM numbered n
    ),
    fresh AS (
        SELECT p.server_id, p.organization_id, p.label, p.k, p.period_start,
            p.period_start + interval '1 hour' AS period_end, round(p.monthly / {HOURS_PER_MONTH}, 4) AS hourly_rate,
            p.amount, f.cycle_id AS failed_cycle_id
        FROM priced p
        LEFT JOIN bot_billing_failures f
            ON f.vps_instance_id = p.server_id AND f.hour_index = p.k AND f.collected_at IS NULL
    ),
    owed AS (
        SELECT f.vps_instance_id AS server_id, f.organization_id, coalesce(v.label, f.label, 'server') AS label,
            f.hour_index AS k, f.period_start, f.period_start + interval '1 hour' AS period_end,
            f.amount AS hourly_rate, f.amount, f.cycle_id AS failed_cycle_id
        FROM bot_billing_failures f
        LEFT JOIN vps_instances v ON v.id = f.vps_instance_id
        LEFT JOIN servers s ON s.server_id = f.vps_instance_id  -- `fresh` has its hours k_from..k_to
        WHERE f.collected_at IS NULL AND f.organization_id IN (SELECT organization_id FROM billing_wallets)
          AND (CAST(:server AS uuid) IS NULL OR f.vps_instance_id = CAST(:server AS uuid))
          AND f.hour_index <= coalesce(CAST(:max_k AS bigint), f.hour_index)
          AND (s.server_id IS NULL OR f.hour_index < s.k_from
               OR f.hour_index > least(s.k_to, coalesce(CAST(:max_k AS bigint), s.k_to)))
    ),
    due AS (SELECT * FROM fresh UNION ALL SELECT * FROM owed)
    SELECT d.server_id, d.organization_id, d.label, d.k, d.period_start, d.period_end, d.hourly_rate,
        d.amount, 'vps:' || d.server_id || ':hour:' || d.k AS key,
        d.failed_cycle_id, coalesce(d.failed_cycle_id, gen_random_uuid()) AS cycle_id,
        gen_random_uuid() AS txn_id, w.wallet_id, w.balance, w.currency,
        d.amount = 0 OR CAST(:force AS boolean)
        OR sum(d.amount) OVER (PARTITION BY d.organization_id ORDER BY d.period_start, d.server_id, d.k
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) <= w.balance AS chargeable
    FROM due d
    JOIN billing_wallets w USING (organization_id)
    """
)
# Every row of one run reads in charge order where the panel lists the ledger (created_at, then id):
# `now()` is the same for the whole transaction, so each debit gets the statement's clock plus its
# position in the organisation's charge order, in microseconds. Hours that cost nothing (the month's
# cap is reached) keep their key and billing cycle but write no $0.00 debit, which the panel would
# show as a credit. A final charge (:force) may take the balance negative; every other charge needs
# `balance >= total`.
_CHARGE = text(
    """
    WITH won AS (
        INSERT INTO bot_ledger_keys (key, organization_id, payment_transaction_id, amount)
        SELECT key, organization_id, CASE WHEN amount > 0 THEN txn_id END, amount FROM billing_due WHERE chargeable
        ON CONFLICT (key) DO NOTHING
        RETURNING key
    ),
    charged AS (
        SELECT d.*, CASE WHEN d.amount > 0 THEN d.txn_id END AS paid_by,
            sum(d.amount) OVER charge_order AS paid, row_number() OVER charge_order AS seq
        FROM billing_due d JOIN won USING (key)
        WINDOW charge_order AS (PARTITION BY d.organization_id ORDER BY d.period_start, d.server_id, d.k
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    clock AS MATERIALIZED (SELECT clock_timestamp() AS started),
    debits AS (
        INSERT INTO payment_transactions (id, organization_id, amount, currency, payment_method, payment_provider,
            status, description, metadata, created_at, updated_at)
        SELECT txn_id, organization_id, -amount, currency, 'wallet_debit', 'internal', 'completed',
            CASE WHEN k = 0 THEN 'VPS Creation - ' || label || ' (Initial Hour)'  -- the panel's wording
                 ELSE 'VPS Hourly Billing - ' || label || ' (1h)' END,
            jsonb_build_object('hours_charged', 1, 'balance_before', (balance - paid + amount)::text,
                'balance_after', (balance - paid)::text, 'vps_instance_id', server_id, 'period_start', period_start,
                'hour_index', k),
            clock.started + seq * interval '1 microsecond', clock.started + seq * interval '1 microsecond'
        FROM charged CROSS JOIN clock WHERE amount > 0
    ),
    cycles AS (
        INSERT INTO vps_billing_cycles (id, vps_instance_id, organization_id, billing_period_start,
            billing_period_end, hourly_rate, total_amount, status, payment_transaction_id, metadata)
        SELECT cycle_id, server_id, organization_id, period_start, period_end, hourly_rate, amount, 'billed', paid_by,
            jsonb_build_object('hours_charged', 1, 'hour_index', k)
        FROM charged WHERE failed_cycle_id IS NULL
    ),
    settled AS (
        UPDATE vps_billing_cycles c SET status = 'billed', payment_transaction_id = ch.paid_by,
            total_amount = ch.amount,
            metadata = coalesce(c.metadata, '{}'::jsonb)
                || jsonb_build_object('collected_at', CAST(:now AS timestamptz), 'ledger_key', ch.key)
        FROM charged ch WHERE c.id = ch.failed_cycle_id
    ),
    collected AS (
        UPDATE bot_billing_failures f SET collected_at = CAST(:now AS timestamptz), payment_transaction_id = ch.paid_by
        FROM charged ch
        WHERE f.vps_instance_id = ch.server_id AND f.hour_index = ch.k AND ch.failed_cycle_id IS NOT NULL
    ),
    debited AS (
        UPDATE wallets w SET balance = w.balance - t.total
        FROM (SELECT wallet_id, sum(amount) AS total FROM charged GROUP BY wallet_id) t
        WHERE w.id = t.wallet_id AND (w.balance >= t.total OR CAST(:force AS boolean))
        RETURNING w.id
    ),
    paid_up AS (
        UPDATE vps_instances v SET last_billed_at = t.paid_to
        FROM (SELECT server_id, max(period_end) AS paid_to FROM charged GROUP BY server_id) t
        WHERE v.id = t.server_id AND (v.last_billed_at IS NULL OR v.last_billed_at < t.paid_to)
    )
    SELECT c.organization_id, count(*) AS hours, sum(c.amount) AS amount, bool_and(d.id IS NOT NULL) AS debited
    FROM charged c LEFT JOIN debited d ON d.id = c.wallet_id
    GROUP BY c.organization_id
    """
)
_RECORD_FAILURES = text(
    """
    WITH failed AS (
        INSERT INTO bot_billing_failures (vps_instance_id, hour_index, organization_id, cycle_id, period_start,
            amount, first_failed_at, label)
        SELECT server_id, k, organization_id, cycle_id, period_start, amount, CAST(:now AS timestamptz), label
        FROM billing_due WHERE NOT chargeable AND failed_cycle_id IS NULL
        ON CONFLICT DO NOTHING
        RETURNING vps_instance_id, hour_index
    ),
    cycles AS (
        INSERT INTO vps_billing_cycles (id, vps_instance_id, organization_id, billing_period_start,
            billing_period_end, hourly_rate, total_amount, status, metadata)
        SELECT d.cycle_id, d.server_id, d.organization_id, d.period_start, d.period_end, d.hourly_rate, d.amount,
            'failed', jsonb_build_object('reason', 'insufficient_balance', 'hours_charged', 1, 'hour_index', d.k,
                'balance', d.balance::text, 'source', 'slack_bot')
        FROM billing_due d JOIN failed f ON f.vps_instance_id = d.server_id AND f.hour_index = d.k
    ),
    accounted AS (
        UPDATE vps_instances v SET last_billed_at = t.accounted_to
        FROM (SELECT server_id, max(period_end) AS accounted_to FROM billing_due WHERE NOT chargeable
              GROUP BY server_id) t
        WHERE v.id = t.server_id AND (v.last_billed_at IS NULL OR v.last_billed_at < t.accounted_to)
    )
    SELECT d.organization_id, count(*) AS hours, sum(d.amount) AS amount,
        count(f.vps_instance_id) AS newly_failed
    FROM billing_due d LEFT JOIN failed f ON f.vps_instance_id = d.server_id AND f.hour_index = d.k
    WHERE NOT d.chargeable
    GROUP BY d.organization_id
    """
)
#: Hours owed: recorded unpaid and not collected yet, also those of a server that is gone (a debt is
#: never erased by removing the server's row).
_OPEN_FAILURES = "SELECT f.* FROM bot_billing_failures f WHERE f.collected_at IS NULL"
#: The organisation's wallet (the oldest, as the panel reads it).
_WALLET_OF = """
    SELECT balance, coalesce(currency, 'USD') AS currency FROM wallets w WHERE w.organization_id = {org}
    ORDER BY created_at, id LIMIT 1
"""
# An organisation is in arrears while it owes hours or its balance is negative (a final charge at
# deletion may leave it so); the episode starts at its first unpaid hour, or when the balance was
# first seen negative, and ends when both are cleared.
_ARREARS_UPKEEP = text(
    f"""
    WITH owing AS (
        SELECT organization_id, min(first_failed_at) AS since FROM ({_OPEN_FAILURES}) f
        WHERE organization_id = ANY(CAST(:orgs AS uuid[]))
        GROUP BY organization_id
        UNION ALL
        SELECT o.id, CAST(:now AS timestamptz) FROM unnest(CAST(:orgs AS uuid[])) AS o(id)
        CROSS JOIN LATERAL ({_WALLET_OF.format(org="o.id")}) w
        WHERE w.balance < 0
    ),
    open AS (SELECT organization_id, min(since) AS since FROM owing GROUP BY organization_id),
    cleared AS (
        DELETE FROM bot_billing_arrears a
        WHERE a.organization_id = ANY(CAST(:orgs AS uuid[]))
          AND a.organization_id NOT IN (SELECT organization_id FROM open)
        RETURNING a.organization_id
    ),
    opened AS (
        INSERT INTO bot_billing_arrears (organization_id, since)
        SELECT organization_id, since FROM open
        ON CONFLICT (organization_id) DO NOTHING
        RETURNING organization_id
    )
    SELECT (SELECT count(*) FROM cleared) AS cleared, (SELECT count(*) FROM opened) AS opened
    """
)
_ARREARS_STATE = text(
    f"""
    SELECT a.organization_id, o.name, a.since, a.notice_day,
        coalesce(sum(f.amount), 0) + greatest(0, -coalesce(w.balance, 0)) AS amount_owed,
        count(f.hour_index) AS hours_owed, count(DISTINCT f.vps_instance_id) AS servers,
        coalesce(w.balance, 0) AS balance, coalesce(w.currency, 'USD') AS currency
    FROM bot_billing_arrears a
    JOIN organizations o ON o.id = a.organization_id
    LEFT JOIN LATERAL ({_WALLET_OF.format(org="a.organization_id")}) w ON true
    LEFT JOIN ({_OPEN_FAILURES}) f ON f.organization_id = a.organization_id
    WHERE (CAST(:orgs AS uuid[]) IS NULL OR a.organization_id = ANY(CAST(:orgs AS uuid[])))
    GROUP BY a.organization_id, o.name, a.since, a.notice_day, w.balance, w.currency
    ORDER BY a.since, a.organization_id
    """
)
_SET_NOTICE_DAY = text(
    "UPDATE bot_billing_arrears SET notice_day = :day WHERE organization_id = :org AND notice_day < :day"
)
# Past the grace period every run powers off every server of the organisation that is not off
# already — also one started again from the panel or Linode's console since the last power-off. One
# job per server at a time (none while an earlier one is pending or running); the key names the run.
_REQUEST_POWER_OFFS = text(
    """
    WITH due AS (
        SELECT v.id AS server_id, v.organization_id, v.label
        FROM bot_billing_arrears a JOIN vps_instances v ON v.organization_id = a.organization_id
        WHERE a.organization_id = ANY(CAST(:orgs AS uuid[]))
          AND a.since + make_interval(hours => :grace) <= CAST(:now AS timestamptz)
          AND coalesce(v.provider_instance_id, '') <> ''
          AND coalesce(v.status, '') NOT IN ('stopped', 'offline', 'shutting_down', 'error', 'deleted')
          AND NOT EXISTS (
              SELECT 1 FROM bot_jobs j WHERE j.kind = :kind AND j.status IN ('pending', 'running')
                AND j.payload->>'server_id' = v.id::text
          )
    ),
    queued AS (
        INSERT INTO bot_jobs (kind, payload, dedupe_key)
        SELECT :kind, jsonb_build_object('server_id', server_id::text, 'reason', 'billing_arrears'),
            'billing:power_off:' || server_id || ':' || :run
        FROM due
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING payload->>'server_id' AS server_id, dedupe_key
    )
    SELECT d.server_id, d.organization_id, d.label, q.dedupe_key, o.name AS organization_name
    FROM queued q JOIN due d ON d.server_id::text = q.server_id JOIN organizations o ON o.id = d.organization_id
    ORDER BY d.organization_id, d.server_id
    """
)
_DEBT = text(
    f"""
    SELECT w.balance, w.currency,
        (SELECT count(*) FROM ({_OPEN_FAILURES}) f WHERE f.organization_id = :org) AS hours_owed,
        (SELECT coalesce(sum(f.amount), 0) FROM ({_OPEN_FAILURES}) f WHERE f.organization_id = :org) AS hours_amount
    FROM ({_WALLET_OF.format(org=":org")}) w
    """
)
_LOCK_WALLET = text("SELECT id FROM wallets WHERE organization_id = :org ORDER BY created_at, id LIMIT 1 FOR UPDATE")
# Giving back a first hour Linode never delivered: a positive `wallet_credit`/`internal` row (the
# panel's own shape for an internal credit, shown there as a credit), the wallet credited, once per
# server (the key `vps:<id>:hour:0:refund`), and only when hour 0 really took money.
_REFUND_FIRST_HOUR = text(
    """
    WITH charge AS (
        SELECT organization_id, amount, payment_transaction_id FROM bot_ledger_keys
        WHERE key = 'vps:' || CAST(:server AS text) || ':hour:0' AND amount > 0
    ),
    claimed AS (
        INSERT INTO bot_ledger_keys (key, organization_id, payment_transaction_id, amount)
        SELECT 'vps:' || CAST(:server AS text) || ':hour:0:refund', organization_id, CAST(:txn AS uuid), amount
        FROM charge
        ON CONFLICT (key) DO NOTHING
        RETURNING organization_id, amount
    ),
    credited AS (
        UPDATE wallets w SET balance = w.balance + c.amount FROM claimed c
        WHERE w.id = (SELECT id FROM wallets WHERE organization_id = c.organization_id ORDER BY created_at, id LIMIT 1)
        RETURNING w.balance - c.amount AS before, w.balance AS after, coalesce(w.currency, 'USD') AS currency
    ),
    refund AS (
        INSERT INTO payment_transactions (id, organization_id, amount, currency, payment_method, payment_provider,
            status, description, metadata)
        SELECT CAST(:txn AS uuid), c.organization_id, c.amount, cr.currency, 'wallet_credit', 'internal', 'completed',
            'Refund - VPS Creation - ' || :label || ' (Initial Hour)',
            jsonb_build_object('balance_before', cr.before::text, 'balance_after', cr.after::text,
                'vps_instance_id', CAST(:server AS text), 'hour_index', 0, 'reason', CAST(:reason AS text),
                'refund_of', (SELECT payment_transaction_id FROM charge))
        FROM claimed c CROSS JOIN credited cr
        RETURNING amount
    )
    SELECT (SELECT amount FROM refund) AS amount, (SELECT after FROM credited) AS balance
    """
)
_OWNER_SLACK_IDS = text(
    """
    SELECT DISTINCT i.slack_user_id FROM bot_slack_identities i
    WHERE i.user_id IN (
        SELECT user_id FROM organization_members WHERE organization_id = :org AND role = 'owner'
        UNION SELECT owner_id FROM organizations WHERE id = :org
    )
    ORDER BY i.slack_user_id
    """
)
_RECORD_RUN = text(
    """
    INSERT INTO bot_billing_runs (run_at, source, hours_charged, amount_charged, hours_failed, organizations,
        started_at, finished_at)
    VALUES (:run_at, :source, :hours, :amount, :failed, :orgs, :started, now())
    """
)
_LAST_RUN = text(
    """
    SELECT run_at, source, hours_charged, amount_charged, hours_failed, organizations, started_at, finished_at
    FROM bot_billing_runs ORDER BY finished_at DESC, id DESC LIMIT 1
    """
)
_SERVER_ORG = text("SELECT organization_id FROM vps_instances WHERE id = :id")
_ORG_NAMES = text("SELECT id, name FROM organizations WHERE id = ANY(CAST(:ids AS uuid[]))")


async def server_organization(conn: AsyncConnection, server_id: uuid.UUID) -> uuid.UUID | None:
    row = (await conn.execute(_SERVER_ORG, {"id": server_id})).first()
    return None if row is None else row.organization_id


async def organization_names(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {r.id: r.name for r in (await conn.execute(_ORG_NAMES, {"ids": ids})).all()}


async def due_organizations(conn: AsyncConnection, now: datetime) -> list[tuple[uuid.UUID, int]]:
    """Organisations with a billable server whose next hour has begun, or in arrears, each with
    about how many hours are due (to size batches)."""
    return [(r.organization_id, int(r.hours)) for r in (await conn.execute(_DUE_ORGS, {"now": now})).all()]


async def try_lock_batch(conn: AsyncConnection, first_org: uuid.UUID) -> bool:
    """Transaction-scoped advisory lock for a batch (saves duplicate work; the keys decide)."""
    return bool((await conn.execute(_TRY_LOCK, {"first": str(first_org)})).scalar_one())


async def prepare_batch(
    conn: AsyncConnection,
    organizations: list[uuid.UUID],
    now: datetime,
    *,
    server_id: uuid.UUID | None = None,
    max_hour_index: int | None = None,
    force: bool = False,
) -> None:
    """Lock the batch's wallets and compute its due hours into the `billing_due` temp table."""
    for setting in _BATCH_SETTINGS:
        await conn.execute(setting)
    await conn.execute(_LOCK_WALLETS, {"orgs": organizations})
    await conn.execute(_BATCH_WALLETS, {"orgs": organizations})
    params = {"now": now, "server": server_id, "max_k": max_hour_index, "force": force}
    await conn.execute(_DUE_HOURS, params)


async def charge_due(
    conn: AsyncConnection, now: datetime, *, force: bool = False
) -> dict[uuid.UUID, tuple[int, Decimal]]:
    """Charge every chargeable due hour whose ledger key this transaction wins; per organisation
    (hours, amount). Raises `WalletChanged` if a wallet did not cover its total (caller rolls back);
    with `force` (a final charge) the balance may go negative."""
    rows = (await conn.execute(_CHARGE, {"now": now, "force": force})).all()
    if not all(r.debited for r in rows):
        raise WalletChanged("a wallet no longer covers the computed charges")
    return {r.organization_id: (int(r.hours), Decimal(r.amount)) for r in rows}


async def record_failures(conn: AsyncConnection, now: datetime) -> dict[uuid.UUID, tuple[int, Decimal, int]]:
    """Record unpaid due hours once each; per organisation (unpaid hours, amount, newly failed)."""
    rows = (await conn.execute(_RECORD_FAILURES, {"now": now})).all()
    return {r.organization_id: (int(r.hours), Decimal(r.amount), int(r.newly_failed)) for r in rows}


async def update_arrears(conn: AsyncConnection, organizations: list[uuid.UUID], now: datetime) -> None:
    await conn.execute(_ARREARS_UPKEEP, {"orgs": organizations, "now": now})


async def arrears(conn: AsyncConnection, organizations: list[uuid.UUID] | None = None) -> list[ArrearsState]:
    rows = (await conn.execute(_ARREARS_STATE, {"orgs": organizations})).all()
    return [
        ArrearsState(
            organization_id=r.organization_id,
            name=r.name,
            since=r.since,
            notice_day=r.notice_day,
            amount_owed=Decimal(r.amount_owed),
            hours_owed=int(r.hours_owed),
            servers=int(r.servers),
            currency=r.currency,
            balance=Decimal(r.balance),
        )
        for r in rows
    ]


async def set_notice_day(conn: AsyncConnection, organization_id: uuid.UUID, day: int) -> bool:
    return (await conn.execute(_SET_NOTICE_DAY, {"org": organization_id, "day": day})).rowcount == 1


async def request_power_offs(
    conn: AsyncConnection, organizations: list[uuid.UUID], now: datetime, grace_hours: int, *, kind: str
) -> list[PowerOffRequest]:
    """Queue a power-off job for every server not off yet of the batch's organisations past grace."""
    params = {"orgs": organizations, "now": now, "grace": grace_hours, "kind": kind, "run": str(int(now.timestamp()))}
    return [
        PowerOffRequest(r.server_id, r.organization_id, r.label, r.dedupe_key, r.organization_name)
        for r in (await conn.execute(_REQUEST_POWER_OFFS, params)).all()
    ]


async def debt(conn: AsyncConnection, organization_id: uuid.UUID) -> Debt | None:
    """The wallet and the hours owed; None when the organisation has no wallet."""
    row = (await conn.execute(_DEBT, {"org": organization_id})).first()
    if row is None:
        return None
    return Debt(Decimal(row.balance), row.currency, int(row.hours_owed), Decimal(row.hours_amount))


async def lock_wallet(conn: AsyncConnection, organization_id: uuid.UUID) -> bool:
    """Lock the organisation's wallet row until the transaction ends (False: it has none)."""
    return (await conn.execute(_LOCK_WALLET, {"org": organization_id})).first() is not None


async def refund_first_hour(
    conn: AsyncConnection, server_id: uuid.UUID, *, label: str, reason: str
) -> tuple[Decimal, Decimal] | None:
    """Give back hour 0 of a server Linode never made: (amount, new balance), or None when nothing
    was charged for it or it was already given back."""
    params = {"server": str(server_id), "txn": uuid.uuid4(), "label": label, "reason": reason}
    row = (await conn.execute(_REFUND_FIRST_HOUR, params)).one()
    return None if row.amount is None else (Decimal(row.amount), Decimal(row.balance))


async def owner_slack_ids(conn: AsyncConnection, organization_id: uuid.UUID) -> list[str]:
    return [r[0] for r in (await conn.execute(_OWNER_SLACK_IDS, {"org": organization_id})).all()]


async def record_run(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(_RECORD_RUN, values)


async def last_run(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(_LAST_RUN)).first()
    return None if row is None else dict(row._mapping)

"""The ledger invariant, checked after every test that used the session database: for every
organisation, wallet balance = opening balance + the sum of its `completed` payment_transactions.

Openings are recorded by a test-only trigger (schema `csbot_test`, AFTER INSERT on wallets), so
what the bot writes is unchanged. A test that plays the panel and changes a balance or writes past
ledger rows keeps the opening in step through `tests.factories` (`set_balance`, `record_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from bot.db.engine import plain_url

INSTALL = """
CREATE SCHEMA IF NOT EXISTS csbot_test;
CREATE TABLE IF NOT EXISTS csbot_test.wallet_openings (
    wallet_id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    opening numeric NOT NULL
);
CREATE OR REPLACE FUNCTION csbot_test.completed_sum(org uuid) RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT COALESCE(sum(amount), 0) FROM public.payment_transactions
     WHERE organization_id = org AND status = 'completed'
$$;
-- A new wallet opens with its balance, less what the ledger already holds for an organisation that
-- had no wallet (the panel's order of writes), so the invariant holds from its first row.
CREATE OR REPLACE FUNCTION csbot_test.record_opening() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO csbot_test.wallet_openings (wallet_id, organization_id, opening)
    VALUES (NEW.id, NEW.organization_id, COALESCE(NEW.balance, 0) - CASE
        WHEN EXISTS (SELECT 1 FROM public.wallets w WHERE w.organization_id = NEW.organization_id AND w.id <> NEW.id)
        THEN 0 ELSE csbot_test.completed_sum(NEW.organization_id) END)
    ON CONFLICT (wallet_id) DO NOTHING;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS csbot_test_record_opening ON public.wallets;
CREATE TRIGGER csbot_test_record_opening AFTER INSERT ON public.wallets
    FOR EACH ROW EXECUTE FUNCTION csbot_test.record_opening();
INSERT INTO csbot_test.wallet_openings (wallet_id, organization_id, opening)
SELECT id, organization_id, COALESCE(balance, 0) - csbot_test.completed_sum(organization_id) FROM public.wallets
ON CONFLICT (wallet_id) DO NOTHING;
"""

BROKEN = """
WITH books AS (
    SELECT w.organization_id, sum(COALESCE(w.balance, 0)) AS balance, sum(o.opening) AS opening
      FROM public.wallets w LEFT JOIN csbot_test.wallet_openings o ON o.wallet_id = w.id
     GROUP BY w.organization_id
), ledger AS (
    SELECT organization_id, sum(amount) AS total FROM public.payment_transactions
     WHERE status = 'completed' GROUP BY organization_id
)
SELECT b.organization_id, o.name, b.balance, b.opening, COALESCE(l.total, 0) AS ledger
  FROM books b LEFT JOIN ledger l USING (organization_id) LEFT JOIN public.organizations o ON o.id = b.organization_id
 WHERE b.opening IS NULL OR b.balance <> b.opening + COALESCE(l.total, 0)
 ORDER BY o.name
"""

#: After a report, the broken organisations start again from where they are, so the tests that
#: follow are not blamed for them.
REBASE = """
INSERT INTO csbot_test.wallet_openings (wallet_id, organization_id, opening)
SELECT id, organization_id, COALESCE(balance, 0) - csbot_test.completed_sum(organization_id)
  FROM public.wallets WHERE organization_id = ANY($1::uuid[])
    ON CONFLICT (wallet_id) DO UPDATE SET opening = EXCLUDED.opening
"""


@dataclass(frozen=True)
class Broken:
    organization: str
    balance: Decimal
    opening: Decimal | None
    ledger: Decimal

    def describe(self) -> str:
        expected = "no recorded opening" if self.opening is None else f"{self.opening} + {self.ledger}"
        return f"{self.organization}: wallet {self.balance}, expected {expected}"


async def install(database_url: str) -> None:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        await conn.execute(INSTALL)
    finally:
        await conn.close()


async def broken_organisations(database_url: str) -> list[Broken]:
    """Organisations whose wallet does not match its opening plus its completed ledger (then rebased)."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        rows = await conn.fetch(BROKEN)
        if rows:
            await conn.execute(REBASE, [r["organization_id"] for r in rows])
    finally:
        await conn.close()
    return [Broken(f"{r['name']} ({r['organization_id']})", r["balance"], r["opening"], r["ledger"]) for r in rows]

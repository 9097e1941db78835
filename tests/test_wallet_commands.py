"""`/cs wallet` and `/cs wallet history`: balance, runway at the panel's hourly rates and the paged ledger,
through signed Slack requests, the real app and PostgreSQL."""

from __future__ import annotations

import re
import secrets
import uuid
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import wallet as render
from bot.services.access import NotInOrganisation
from tests.conftest import RunningBot
from tests.factories import OrgRecord, add_slack_user, link_slack, make_user, record_history
from tests.paypal_fixtures import Payer, buttons, click, flat, payer, run, wait_for_response


async def add_plan(engine: AsyncEngine, *, base: str, markup: str) -> tuple[uuid.UUID, str]:
    """A vps_plans row as the admin UI writes it; returns (id, provider_plan_id)."""
    provider_plan_id = f"g6-test-{secrets.token_hex(3)}"
    async with engine.begin() as conn:
        plan_id = (
            await conn.execute(
                text(
                    "INSERT INTO vps_plans (name, provider_plan_id, base_price, markup_price, specifications) "
                    "VALUES ('Test plan', :p, :b, :m, '{}') RETURNING id"
                ),
                {"p": provider_plan_id, "b": Decimal(base), "m": Decimal(markup)},
            )
        ).scalar_one()
    return plan_id, provider_plan_id


async def add_server(engine: AsyncEngine, org: OrgRecord, plan_id: str, status: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status) "
                "VALUES (:o, :p, :i, :l, :s)"
            ),
            {"o": org.id, "p": plan_id, "i": str(secrets.randbelow(10**8)), "l": f"vps-{status}", "s": status},
        )


async def add_ledger_rows(engine: AsyncEngine, org: OrgRecord, count: int) -> None:
    """`count` rows written the panel's way, `Row 01` the oldest; every third a debit."""
    async with engine.begin() as conn:
        for n in range(1, count + 1):
            debit = n % 3 == 0
            await conn.execute(
                text(
                    "INSERT INTO payment_transactions (organization_id, amount, currency, payment_method, "
                    "payment_provider, status, description, created_at) VALUES (:o, :a, 'USD', :m, :p, 'completed', "
                    ":d, TIMESTAMPTZ '2026-11-01 12:00+00' + make_interval(hours => :n))"
                ),
                {
                    "o": org.id,
                    "a": Decimal("-0.03") if debit else Decimal("25.00"),
                    "m": "wallet_debit" if debit else "paypal",
                    "p": "internal" if debit else "paypal",
                    "d": f"Row {n:02d}",
                    "n": n,
                },
            )
            await record_history(conn, org.id, Decimal("-0.03") if debit else Decimal("25.00"))


def rows_shown(message: dict) -> list[str]:
    return re.findall(r"Row \d{2}", flat(message["blocks"]))


# -- the card ------------------------------------------------------------------------------------------------


async def test_wallet_card_shows_balance_burn_runway_and_the_last_ten_rows(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member", balance=Decimal("100.00"), org_name="Burn & <Co>")
    plan_id, provider_plan_id = await add_plan(engine, base="20.00", markup="5.00")
    await add_server(engine, member.org, str(plan_id), "running")  # matched by id: 25/730 per hour
    await add_server(engine, member.org, provider_plan_id, "provisioning")  # matched by provider_plan_id
    await add_server(engine, member.org, "no-such-type", "running")  # the panel's default 0.027/h
    await add_server(engine, member.org, str(plan_id), "stopped")  # billed like Linode bills it: burns too
    await add_server(engine, member.org, str(plan_id), "error")  # gone at Linode: not billed
    await add_ledger_rows(engine, member.org, 12)

    card = await run(bot, slack_requests, member, "wallet")
    body = flat(card)
    assert "Wallet of Burn &amp; &lt;Co&gt;" in card["text"] and "$100.00" in card["text"]
    # (3 × 25 / 730 + 0.027) = 0.12974…/h; 100 / 0.12974… = 770.8 hours
    assert "$3.11/day ($0.1297/h) · 4 billed servers" in body
    assert "32 days 2 hours" in body
    assert "1 of them match no plan" in body
    assert rows_shown(card) == [f"Row {n:02d}" for n in range(12, 2, -1)]
    # dates in each reader's own time zone (Slack's date token), with the UTC date as the fallback
    assert "{date_short_pretty}|2026-11-02 (UTC)> Row 12 · *-$0.03* · completed" in body  # 12:00 + 12 h
    assert "{date_short_pretty}|2026-11-01 (UTC)> Row 11 · *+$25.00* · completed" in body


async def test_wallet_card_without_billed_servers_says_so(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    plan_id, _ = await add_plan(engine, base="10.00", markup="0.00")
    await add_server(engine, owner.org, str(plan_id), "error")  # gone at Linode: billing skips it
    card = await run(bot, slack_requests, owner, "wallet")
    assert "No billed servers" in flat(card) and "no billed servers" in card["text"]
    assert render.NO_TRANSACTIONS in flat(card)


async def test_wallet_card_labels_cancelled_topups_and_escapes_descriptions(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payment_transactions (organization_id, amount, currency, payment_method, "
                "payment_provider, status, description, metadata) VALUES "
                "(:o, 5, 'USD', 'paypal', 'paypal', 'failed', '<!channel> & *bold*', CAST(:m AS jsonb))"
            ),
            {"o": owner.org.id, "m": '{"cancel_reason": "user_cancelled"}'},
        )
    body = flat(await run(bot, slack_requests, owner, "wallet"))
    assert "&lt;!channel&gt; &amp; *bold* · *+$5.00* · cancelled" in body
    assert "<!channel>" not in body


async def test_wallet_with_an_unknown_word_suggests_the_wallet_commands(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    answer = await run(bot, slack_requests, owner, "wallet histroy")
    assert "I don't know" in answer["text"] and "wallet history" in answer["text"]


# -- history -------------------------------------------------------------------------------------------------


async def test_wallet_history_pages_older_and_newer_in_place(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    await add_ledger_rows(engine, owner.org, 30)

    first = await run(bot, slack_requests, owner, "wallet history 12")
    assert rows_shown(first) == [f"Row {n:02d}" for n in range(30, 18, -1)]
    assert "Rows 1–12" in flat(first)
    assert set(buttons(first)) == {render.HISTORY_OLDER_ACTION_ID}

    await click(bot, slack_requests, owner, buttons(first)[render.HISTORY_OLDER_ACTION_ID])
    second = await wait_for_response(slack, owner, lambda p: "Rows 13–24" in flat(p))
    assert second["replace_original"] is True
    assert rows_shown(second) == [f"Row {n:02d}" for n in range(18, 6, -1)]
    assert set(buttons(second)) == {render.HISTORY_OLDER_ACTION_ID, render.HISTORY_NEWER_ACTION_ID}

    await click(bot, slack_requests, owner, buttons(second)[render.HISTORY_OLDER_ACTION_ID])
    third = await wait_for_response(slack, owner, lambda p: "Rows 25–30" in flat(p))
    assert rows_shown(third) == [f"Row {n:02d}" for n in range(6, 0, -1)]
    assert set(buttons(third)) == {render.HISTORY_NEWER_ACTION_ID}

    await click(bot, slack_requests, owner, buttons(third)[render.HISTORY_NEWER_ACTION_ID])
    back = await wait_for_response(slack, owner, lambda p: "Rows 13–24" in flat(p) and p is not second)
    assert rows_shown(back) == rows_shown(second)


async def test_wallet_history_defaults_to_25_rows_and_caps_at_100(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    await add_ledger_rows(engine, owner.org, 30)
    default = await run(bot, slack_requests, owner, "wallet history")
    assert len(rows_shown(default)) == 25
    capped = await run(bot, slack_requests, owner, "wallet history 500")
    assert len(rows_shown(capped)) == 30 and "At most 100 rows" in flat(capped)
    assert len(capped["blocks"]) <= 50


async def test_wallet_history_with_a_bad_count_explains_the_range(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    for word in ("abc", "0", "-3"):
        answer = await run(bot, slack_requests, owner, f"wallet history {word}")
        assert "whole number from 1 to 100" in answer["text"]


async def test_history_button_of_someone_who_left_the_organisation_shows_nothing(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    member = await payer(engine, slack, role="member", org=owner.org)
    await add_ledger_rows(engine, owner.org, 30)
    page = await run(bot, slack_requests, member, "wallet history 10")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM organization_members WHERE user_id = :u"), {"u": member.user.id})
    await click(bot, slack_requests, member, buttons(page)[render.HISTORY_OLDER_ACTION_ID])
    refusal = await wait_for_response(slack, member, lambda p: NotInOrganisation().message in p.get("text", ""))
    assert "Row" not in flat(refusal)


async def test_wallet_commands_need_an_organisation(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await payer(engine, slack)
    lonely = await make_user(engine)
    slack_id = add_slack_user(slack)
    await link_slack(engine, slack_id, lonely)
    loner = Payer(slack_id, lonely, someone.org)
    for words in ("wallet", "wallet history", "wallet topup 5"):
        answer = await run(bot, slack_requests, loner, words)
        assert "org create" in answer["text"]

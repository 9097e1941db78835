"""`/cs wallet` reads the actor and the card in one statement: the card it guesses must be the card
of the organisation the actor really acts in, or be ignored and read again."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import plain
from bot.services import wallet
from bot.services.identity import SlackRef, resolve_actor
from tests.factories import (
    TEAM_ID,
    OrgRecord,
    UserRecord,
    add_member,
    link_slack,
    make_org,
    make_user,
    new_slack_user_id,
)


@pytest.fixture(name="channel")
def channel_fixture() -> str:
    """A channel of its own per test (bindings are one per channel, and the database is shared)."""
    return "C0" + secrets.token_hex(4).upper()


@pytest.fixture(name="pool")
async def pool_fixture(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await plain.create_pool(database_url, max_size=2)
    yield pool
    await pool.close()


async def linked(engine: AsyncEngine, user: UserRecord) -> SlackRef:
    slack_user = new_slack_user_id()
    await link_slack(engine, slack_user, user)
    return SlackRef("", TEAM_ID, slack_user)


async def bind_channel(engine: AsyncEngine, channel: str, org: OrgRecord, by: UserRecord) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id, created_by) "
                "VALUES (:t, :c, :o, :u)"
            ),
            {"t": TEAM_ID, "c": channel, "o": org.id, "u": by.id},
        )


async def choose(engine: AsyncEngine, slack: SlackRef, org: OrgRecord) -> None:
    """As `/cs org use` records it."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE bot_slack_identities SET active_organization_id = :o WHERE slack_user_id = :s"),
            {"o": org.id, "s": slack.user_id},
        )


async def card_both_ways(
    pool: asyncpg.Pool, slack: SlackRef, channel: str
) -> tuple[wallet.WalletCard, uuid.UUID | None]:
    """The card through the one statement, checked against the separate lookups; and the organisation
    whose card the statement brought along (None: none guessed)."""
    found = await wallet.actor_with_card(pool, slack, channel)
    assert found is not None
    actor, prefetched = found
    assert actor == await resolve_actor(pool, slack, channel)
    card = await wallet.wallet_card(pool, actor, prefetched=prefetched)
    assert card == await wallet.wallet_card(pool, actor)
    return card, prefetched.organization_id if prefetched else None


async def test_a_member_gets_the_card_from_the_same_statement(
    engine: AsyncEngine, pool: asyncpg.Pool, channel: str
) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner, balance=Decimal("41.50"))
    card, guessed = await card_both_ways(pool, await linked(engine, owner), channel)
    assert (card.org.id, card.balance, guessed) == (org.id, Decimal("41.50"), org.id)


async def test_the_guess_follows_the_channel_then_the_chosen_organisation(
    engine: AsyncEngine, pool: asyncpg.Pool, channel: str
) -> None:
    user = await make_user(engine)
    first = await make_org(engine, user, balance=Decimal("1.00"))
    chosen = await make_org(engine, await make_user(engine), balance=Decimal("2.00"))
    bound = await make_org(engine, await make_user(engine), balance=Decimal("3.00"))
    await add_member(engine, chosen, user)
    await add_member(engine, bound, user)
    slack = await linked(engine, user)

    assert (await card_both_ways(pool, slack, channel))[1] == first.id
    await choose(engine, slack, chosen)
    card, guessed = await card_both_ways(pool, slack, channel)
    assert (card.balance, guessed) == (Decimal("2.00"), chosen.id)
    await bind_channel(engine, channel, bound, user)
    card, guessed = await card_both_ways(pool, slack, channel)
    assert (card.balance, guessed) == (Decimal("3.00"), bound.id)


async def test_staff_in_a_channel_of_another_organisation_see_that_organisations_card(
    engine: AsyncEngine, pool: asyncpg.Pool, channel: str
) -> None:
    staff = await make_user(engine, role="admin")
    await make_org(engine, staff, balance=Decimal("5.00"))
    customer_owner = await make_user(engine)
    customer = await make_org(engine, customer_owner, balance=Decimal("750.00"))
    await bind_channel(engine, channel, customer, customer_owner)
    card, guessed = await card_both_ways(pool, await linked(engine, staff), channel)
    assert (card.org.id, card.balance) == (customer.id, Decimal("750.00"))
    assert guessed != customer.id  # the statement guessed their own organisation; it was read again


async def test_an_owner_without_a_membership_row_gets_the_newest_owned_organisations_card(
    engine: AsyncEngine, pool: asyncpg.Pool, channel: str
) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner, balance=Decimal("9.99"))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM organization_members WHERE user_id = :u"), {"u": owner.id})
    card, guessed = await card_both_ways(pool, await linked(engine, owner), channel)
    assert (card.org.id, card.balance, guessed) == (org.id, Decimal("9.99"), None)


async def test_no_wallet_and_no_link_are_told_apart(engine: AsyncEngine, pool: asyncpg.Pool, channel: str) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM wallets WHERE organization_id = :o"), {"o": org.id})
    found = await wallet.actor_with_card(pool, await linked(engine, owner), channel)
    assert found is not None
    actor, prefetched = found
    assert prefetched == wallet.PrefetchedCard(org.id, None)
    with pytest.raises(wallet.NoWallet):
        await wallet.wallet_card(pool, actor, prefetched=prefetched)
    assert await wallet.actor_with_card(pool, SlackRef("", TEAM_ID, new_slack_user_id()), channel) is None

"""Distributed mode end to end: OAuth installs through the bot's own routes, tokens at rest, each
outbox row sent with its own workspace's token, uninstall and reinstall (issue 19)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import SETTINGS
from bot.db import outbox as outbox_db
from bot.db.installations import UNDELIVERABLE
from bot.diagnostics.findings import Status
from bot.doctor import collect
from bot.rendering.install_pages import CANCELLED_TITLE, EXPIRED_TITLE, INSTALLED_TITLE
from bot.sandbox.browser import complete_link
from bot.slack.token_crypto import TokenCipher, TokenUnreadable
from tests.factories import link_slack, make_org, make_user
from tests.workspace_fixtures import Workspaces, team_id, workspaces_fixture  # noqa: F401 - fixture

LINK_URL = re.compile(r"http://127\.0\.0\.1:\d+/link/[A-Za-z0-9_.~%-]+")


async def until(check: Callable[[], Awaitable[object]], what: str, timeout: float = 10.0) -> object:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return found


def customer(ws: Workspaces, name: str = "Acme", *, enterprise_id: str | None = None) -> tuple[str, str, str]:
    """A workspace with one member: (team id, user id, its #general)."""
    team = team_id()
    ws.slack.add_workspace(team, name, enterprise_id=enterprise_id)
    user = "U" + team[1:]
    ws.slack.add_user(user, name=f"{name.lower()}-admin", team_id=team)
    return team, user, f"C{team[1:]}GEN"


async def org_wide(ws: Workspaces) -> tuple[str, tuple[str, str, str], tuple[str, str, str]]:
    """An Enterprise Grid org with two workspaces, the app installed org-wide from the first:
    (enterprise id, first workspace, second workspace) as `customer` gives them."""
    enterprise = "E" + team_id()[1:]
    ws.slack.add_enterprise(enterprise, "Globex")
    east = customer(ws, "Globex East", enterprise_id=enterprise)
    west = customer(ws, "Globex West", enterprise_id=enterprise)
    await ws.install(east[0], east[1], enterprise_install=True)
    return enterprise, east, west


async def enqueue(engine: AsyncEngine, channel: str, words: str, **workspace: str) -> int:
    async with engine.begin() as conn:
        outbox_id = await outbox_db.enqueue(conn, channel, {"text": words}, **workspace)
    assert outbox_id is not None
    return outbox_id


async def settled(engine: AsyncEngine, outbox_id: int) -> tuple[str, str | None, str | None, int]:
    """(status, last_error, team_id, attempts) once the row is delivered or dead."""
    query = text("SELECT status, last_error, team_id, attempts FROM bot_outbox WHERE id = :id")

    async def row() -> object:
        async with engine.connect() as conn:
            found = (await conn.execute(query, {"id": outbox_id})).one()
        return found if found.status in ("delivered", "dead") else None

    found = await until(row, f"outbox row {outbox_id} to settle")
    return found.status, found.last_error, found.team_id, found.attempts  # type: ignore[attr-defined]


def posted(ws: Workspaces, team: str, words: str) -> list[object]:
    return [c for c in ws.slack.calls_for_team(team) if c.method == "chat.postMessage" and c.args.get("text") == words]


async def test_install_act_uninstall_and_reinstall_end_to_end(workspaces: Workspaces, engine: AsyncEngine) -> None:
    ws = workspaces
    team, user, general = customer(ws)
    page = await ws.install(team, user)
    assert INSTALLED_TITLE in page and "Acme" in page and "xox" not in page

    owner = await make_user(engine)
    org = await make_org(engine, owner, name="Acme Hosting", balance=Decimal("12.50"))
    status, body = await ws.send(ws.requests.slash_command(user, "link", channel_id=general))  # link
    assert status == 200
    linked = await complete_link(LINK_URL.search(body).group(0), owner.email, "correct horse 1")  # type: ignore[union-attr]
    assert linked.status == 200 and "Account linked" in linked.text and "Acme" in linked.text
    status, body = await ws.send(ws.requests.slash_command(user, "wallet", channel_id=general))  # act
    assert status == 200 and "Acme Hosting" in body and "12.50" in body
    directory = text("SELECT team_id FROM bot_slack_conversations WHERE conversation_id = :id")

    async def seen() -> object:
        async with engine.connect() as conn:
            return (await conn.execute(directory, {"id": general})).scalar_one_or_none()

    assert await until(seen, "the channel in the directory") == team
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id) VALUES (:t, :c, :o)"),
            {"t": team, "c": general, "o": org.id},
        )

    first = await enqueue(engine, general, "hello acme")  # no workspace given: the directory knows it
    assert (await settled(engine, first))[:3] == ("delivered", None, team)
    assert posted(ws, team, "hello acme")

    ws.slack.uninstall(team_id=team)
    await ws.slack.deliveries_done()
    assert all(d.status == 200 for d in ws.slack.event_deliveries)

    gone = text(
        "SELECT uninstall_reason FROM bot_slack_installations WHERE team_id = :t AND uninstalled_at IS NOT NULL"
    )

    async def uninstalled() -> object:  # the events are acked first and handled right after (either may win)
        async with engine.connect() as conn:
            return (await conn.execute(gone, {"t": team})).scalar_one_or_none()

    assert await until(uninstalled, "the uninstall") in ("tokens_revoked", "app_uninstalled")
    async with engine.connect() as conn:
        disabled = (await conn.execute(text("SELECT disabled_at FROM bot_channel_bindings WHERE team_id = :t"),
                                       {"t": team})).scalar_one()  # fmt: skip
    assert disabled is not None

    status, body = await ws.send(ws.requests.slash_command(user, "wallet", channel_id=general))
    assert status == 200 and any("not installed in this Slack workspace" in str(r) for r in ws.slack.responses)
    after = await enqueue(engine, general, "nobody hears this")
    assert await settled(engine, after) == ("dead", UNDELIVERABLE, team, 1)  # ended at once, not retried
    assert not posted(ws, team, "nobody hears this")

    await ws.install(team, user)  # reinstall: the same workspace comes back with its link and binding
    status, body = await ws.send(ws.requests.slash_command(user, "wallet", channel_id=general))
    assert status == 200 and "Acme Hosting" in body
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT disabled_at FROM bot_channel_bindings WHERE team_id = :t"),
                                   {"t": team})).scalar_one() is None  # fmt: skip
    again = await enqueue(engine, general, "welcome back")
    assert (await settled(engine, again))[0] == "delivered"
    assert posted(ws, team, "welcome back")


async def test_a_cancelled_install_says_nothing_was_installed_and_how_to_retry(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    authorize, cookie = await workspaces.start_install()
    status, page = await workspaces.finish(workspaces.slack.deny_install(authorize), cookie)
    assert status == 200
    assert CANCELLED_TITLE in page and workspaces.url + "/slack/install" in page


async def test_the_oauth_state_works_once_and_expires(workspaces: Workspaces, engine: AsyncEngine) -> None:
    ws = workspaces
    team, user, _ = customer(ws)
    authorize, cookie = await ws.start_install()
    redirect = ws.slack.approve_install(authorize, team_id=team, user_id=user)
    assert (await ws.finish(redirect, cookie))[0] == 200
    status, page = await ws.finish(redirect, cookie)  # the same state again (a replay)
    assert status == 401 and EXPIRED_TITLE in page

    authorize, cookie = await ws.start_install()
    async with engine.begin() as conn:  # eleven minutes later
        await conn.execute(text("UPDATE bot_slack_oauth_states SET expires_at = now() - interval '1 minute' "
                                "WHERE consumed_at IS NULL"))  # fmt: skip
    status, page = await ws.finish(ws.slack.approve_install(authorize, team_id=team, user_id=user), cookie)
    assert status == 401 and EXPIRED_TITLE in page


async def test_stored_tokens_are_unreadable_without_the_key(workspaces: Workspaces, engine: AsyncEngine) -> None:
    ws = workspaces
    team, user, _ = customer(ws)
    other, other_user, _ = customer(ws, "Initech")
    await ws.install(team, user)
    await ws.install(other, other_user)
    bot = await ws.installations.bot_for(None, team)
    assert bot is not None and bot.bot_token.startswith("xoxb-")
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT bot_token, t::text AS whole FROM bot_slack_installations t "
                                       "WHERE team_id = :t"), {"t": team})).one()  # fmt: skip
        elsewhere = (await conn.execute(text("SELECT bot_token FROM bot_slack_installations WHERE team_id = :t"),
                                        {"t": other})).scalar_one()  # fmt: skip
    assert bot.bot_token.encode() not in raw.bot_token and bot.bot_token not in raw.whole
    where = {"enterprise_id": "", "team_id": team, "purpose": "bot_token"}
    try:
        TokenCipher(bytes(32)).open(raw.bot_token, **where)  # type: ignore[arg-type]
        raise AssertionError("a wrong key opened the token")
    except TokenUnreadable:
        pass
    try:  # another workspace's sealed token copied onto this row does not open as this row's
        ws.installations._cipher.open(elsewhere, **where)  # type: ignore[arg-type]
        raise AssertionError("a moved token opened")
    except TokenUnreadable:
        pass


async def test_an_org_wide_install_answers_for_two_workspaces_of_the_org(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    ws = workspaces
    enterprise, (first, _, _), (second, second_user, second_general) = await org_wide(ws)
    east, west = await ws.installations.bot_for(enterprise, first), await ws.installations.bot_for(enterprise, second)
    assert east is not None and west is not None and east.bot_token == west.bot_token and east.is_enterprise_install

    status, body = await ws.send(ws.requests.slash_command(second_user, "help", channel_id=second_general))
    assert status == 200 and "no longer available" not in body
    outbox_id = await enqueue(engine, second_general, "hello west", team_id=second, enterprise_id=enterprise)
    assert (await settled(engine, outbox_id))[0] == "delivered"
    assert posted(ws, second, "hello west")


async def test_removing_an_org_wide_install_ends_it_for_every_workspace_of_the_org(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    ws = workspaces
    enterprise, (first, _, first_general), (second, _, second_general) = await org_wide(ws)
    assert await ws.installations.bot_for(enterprise, second) is not None

    ws.slack.uninstall(enterprise_id=enterprise)  # an org admin removes the app from the whole org
    await ws.slack.deliveries_done()
    assert ws.slack.event_deliveries and all(d.status == 200 for d in ws.slack.event_deliveries)

    async def gone() -> bool | None:
        east, west = (
            await ws.installations.bot_for(enterprise, first),
            await ws.installations.bot_for(enterprise, second),
        )
        return True if east is None and west is None else None

    assert await until(gone, "the org-wide install to be gone for both workspaces")
    for team, channel in ((first, first_general), (second, second_general)):
        queued = await enqueue(engine, channel, f"after the org left: {team}", team_id=team, enterprise_id=enterprise)
        assert await settled(engine, queued) == ("dead", UNDELIVERABLE, team, 1)
    assert not [c for c in ws.slack.calls if str(c.args.get("text", "")).startswith("after the org left")]


async def test_a_row_for_one_workspace_never_goes_out_with_another_workspaces_token(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    ws = workspaces
    team, user, general = customer(ws)
    other, other_user, _ = customer(ws, "Initech")
    await ws.install(team, user)
    await ws.install(other, other_user)
    wrong = await enqueue(engine, general, "misaddressed", team_id=other)  # a bug upstream: Acme's channel, Initech
    status, error, _, _ = await settled(engine, wrong)
    assert status == "dead" and "channel_not_found" in (error or "")
    assert not [c for c in ws.slack.calls if c.args.get("text") == "misaddressed" and c.ok]
    right = await enqueue(engine, general, "well addressed", team_id=team)
    assert (await settled(engine, right))[0] == "delivered" and posted(ws, team, "well addressed")


async def test_the_doctor_names_distributed_mode_and_checks_the_home_workspaces_token(workspaces: Workspaces) -> None:
    ws = workspaces
    settings = ws.app[SETTINGS].model_copy(update={"slack_home_team": team_id()})
    before = {f.check: f for f in await collect(settings)}
    assert before["serve settings"].status is Status.PASS and "distributed mode" in before["serve settings"].detail
    assert before["slack installs"].status is not Status.PASS  # the home workspace has not installed yet
    home, admin, _ = customer(ws, "Reseller")
    await ws.install(home, admin)
    after = {f.check: f for f in await collect(settings.model_copy(update={"slack_home_team": home}))}
    assert after["slack installs"].status is Status.PASS
    assert after["slack"].status is Status.PASS and "reseller.slack.com" in after["slack"].detail


async def test_a_replica_with_a_cached_token_ends_the_row_once_slack_refuses_an_uninstalled_workspace(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    """Another replica handled the uninstall: this one's cached token is refused, it asks the database,
    and the row ends as undeliverable instead of dying as an auth error or being retried."""
    ws = workspaces
    team, user, general = customer(ws)
    await ws.install(team, user)
    warm = await enqueue(engine, general, "cached token", team_id=team)
    assert (await settled(engine, warm))[0] == "delivered"  # this process now holds the token in its cache
    ws.slack.event_url = None  # the uninstall events go to the other replica, not this one
    ws.slack.uninstall(team_id=team)
    async with engine.begin() as conn:  # what the other replica's app_uninstalled listener wrote
        await conn.execute(
            text("UPDATE bot_slack_installations SET uninstalled_at = now(), uninstall_reason = 'app_uninstalled' "
                 "WHERE team_id = :t"), {"t": team},
        )  # fmt: skip
    after = await enqueue(engine, general, "too late", team_id=team)
    assert await settled(engine, after) == ("dead", UNDELIVERABLE, team, 1)
    refused = [c for c in ws.slack.calls if c.args.get("text") == "too late"]
    assert [c.response.get("error") for c in refused] == ["token_revoked"]  # tried once, with the stale token


async def test_without_slack_home_team_the_home_workspace_is_the_first_installed_by_staff(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    ws = workspaces
    customer_team, customer_user, _ = customer(ws)
    staff_team, staff_slack, _ = customer(ws, "Reseller")
    await ws.install(customer_team, customer_user)  # a customer happened to install first
    await ws.install(staff_team, staff_slack)
    await link_slack(engine, staff_slack, await make_user(engine, role="admin"), team_id=staff_team)
    async with engine.begin() as conn:  # the earlier tests' installs are not this world's
        await conn.execute(
            text("UPDATE bot_slack_installations SET uninstalled_at = now() WHERE team_id NOT IN (:a, :b)"),
            {"a": customer_team, "b": staff_team},
        )
    home = await ws.installations.home_bot(None)
    assert home is not None and home.team_id == staff_team

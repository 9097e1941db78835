"""`/cs org`, `org list`, `org use`, `org create` and `org members` through the real app and emulator."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.emulators.slack.recording import ResponsePost
from bot.rendering import orgs as render
from tests.conftest import TEAM_ID, RunningBot
from tests.factories import UserRecord, add_member, link_slack, make_org, make_user, new_slack_user_id

# --- helpers shared by the organisation test modules ----------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A panel user linked to a Slack user the emulator knows."""

    slack_id: str
    user: UserRecord

    @property
    def mention(self) -> str:
        return f"<@{self.slack_id}|{self.user.name.split()[0].lower()}>"


async def person(
    engine: AsyncEngine, slack: SlackEmulator, *, name: str | None = None, role: str = "user", linked: bool = True
) -> Person:
    user = await make_user(engine, name=name, role=role)
    slack_id = new_slack_user_id()
    slack.add_user(slack_id, name=user.name, email=user.email)
    if linked:
        await link_slack(engine, slack_id, user)
    return Person(slack_id, user)


async def run(
    bot: RunningBot,
    slack_requests: SlackRequestFactory,
    who: Person | str,
    words: str,
    *,
    channel_id: str | None = None,
) -> Any:
    """Send `/cs <words>`; returns the ack body (parsed JSON, or '' for an empty ack)."""
    user = who.slack_id if isinstance(who, Person) else who
    request = slack_requests.slash_command(user, words, **({"channel_id": channel_id} if channel_id else {}))
    status, body = await bot.send(request)
    assert status == 200, body
    return json.loads(body) if body.startswith("{") else body


async def next_response(slack: SlackEmulator, who: Person, *, after: int = 0, timeout: float = 30.0) -> ResponsePost:
    """The first response_url post for `who` beyond the first `after` ones."""
    async with asyncio.timeout(timeout):
        while True:
            mine = [r for r in slack.responses if r.user_id == who.slack_id]
            if len(mine) > after:
                return mine[after]
            await asyncio.sleep(0.02)


async def dm_texts(slack: SlackEmulator, who: Person, count: int = 1, timeout: float = 30.0) -> list[str]:
    """Texts of the DMs `who` has received, once there are at least `count`."""
    async with asyncio.timeout(timeout):
        while len(slack.dms(who.slack_id)) < count:
            await asyncio.sleep(0.02)
    return [json.dumps(m.get("blocks")) + m["text"] for m in slack.dms(who.slack_id)]


async def activities(engine: AsyncEngine, org_id: uuid.UUID, event_type: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT user_id, organization_id, entity_type, entity_id, status, metadata, message "
                "FROM activity_logs WHERE organization_id = :o AND event_type = :e ORDER BY created_at"
            ),
            {"o": org_id, "e": event_type},
        )
        return list(rows.all())


async def role_in(engine: AsyncEngine, org_id: uuid.UUID, user: UserRecord) -> str | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT role FROM organization_members WHERE organization_id = :o AND user_id = :u"),
                {"o": org_id, "u": user.id},
            )
        ).scalar_one_or_none()


def flat(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False)


async def active_org_of(engine: AsyncEngine, who: Person) -> uuid.UUID | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT active_organization_id FROM bot_slack_identities WHERE slack_user_id = :s AND team_id = :t"
                ),
                {"s": who.slack_id, "t": TEAM_ID},
            )
        ).scalar_one()


# --- the card ---------------------------------------------------------------------------------------------------


async def test_org_card_shows_name_slug_role_member_count_and_wallet(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Card Co", balance=Decimal("1234.50"))
    await add_member(engine, org, await make_user(engine))
    answer = await run(bot, slack_requests, owner, "org")
    assert answer["response_type"] == "ephemeral"
    body = flat(answer)
    assert "Card Co" in body and org.slug in body
    assert "owner" in body and "2 members" in body
    assert "$1,234.50 USD" in body
    assert "Card Co" in answer["text"]


async def test_org_card_escapes_what_users_typed(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    await make_org(engine, owner.user, name="<!channel> & *Bold*")
    body = flat(await run(bot, slack_requests, owner, "org"))
    assert "<!channel>" not in body
    assert "&lt;!channel&gt; &amp; *Bold*" in body


async def test_org_card_without_an_organisation_offers_a_create_button(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    lonely = await person(engine, slack)
    answer = await run(bot, slack_requests, lonely, "org")
    assert answer["text"] == render.NO_ORGANISATION
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [render.CREATE_BUTTON_ACTION_ID]


async def test_unknown_org_subcommand_suggests_the_closest(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    answer = await run(bot, slack_requests, someone, "org lsit")
    assert "I don't know `/cs org lsit`" in answer["text"]
    assert "/cs org list" in answer["text"]


async def test_commands_needing_an_organisation_say_how_to_create_one(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    lonely = await person(engine, slack)
    for words in ("org members", "org bindings", "org invite <@U0NOBODY|x>", "org bind", "org remove <@U0NOBODY|x>"):
        answer = await run(bot, slack_requests, lonely, words)
        assert "You are not in an organisation yet" in answer["text"], words
        assert "/cs org create" in answer["text"]


# --- list and use ----------------------------------------------------------------------------------------------------


async def test_org_list_shows_every_membership_and_marks_the_active_one(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    first = await make_org(engine, someone.user, name="First Org")
    second = await make_org(engine, (await make_user(engine)), name="Second Org")
    await add_member(engine, second, someone.user, "admin")
    answer = await run(bot, slack_requests, someone, "org list")
    body = flat(answer)
    assert "First Org" in body and "Second Org" in body
    assert f"{first.slug} (active)" in answer["text"] and f"{second.slug} (active)" not in answer["text"]
    assert "ContainerStacks staff" not in body


async def test_org_list_tells_staff_they_can_act_anywhere(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    staff = await person(engine, slack, role="admin")
    await make_org(engine, staff.user)
    body = flat(await run(bot, slack_requests, staff, "org list"))
    assert "ContainerStacks staff you can act in any organisation" in body


async def test_org_use_switches_the_active_organisation_and_records_it(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    await make_org(engine, someone.user, name="Home Org")
    other = await make_org(engine, await make_user(engine), name="Other Org")
    await add_member(engine, other, someone.user)
    answer = await run(bot, slack_requests, someone, f"org use {other.slug.upper()}")
    assert "Now using *Other Org*" in answer["text"]
    assert await active_org_of(engine, someone) == other.id
    assert "Other Org" in flat(await run(bot, slack_requests, someone, "org"))
    [row] = await activities(engine, other.id, "org.use")
    assert row.user_id == someone.user.id and row.metadata["slack_user_id"] == someone.slack_id
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == someone.slack_id)


async def test_org_use_with_an_unknown_slug_lists_your_slugs(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    mine = await make_org(engine, someone.user)
    answer = await run(bot, slack_requests, someone, "org use no-such-org")
    assert "None of your organisations has the slug “no-such-org”" in answer["text"]
    assert mine.slug in answer["text"]
    assert await active_org_of(engine, someone) is None


async def test_org_use_of_a_foreign_organisation_is_refused_for_members_but_allowed_for_staff(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    foreign = await make_org(engine, await make_user(engine), name="Foreign Org")
    outsider = await person(engine, slack)
    answer = await run(bot, slack_requests, outsider, f"org use {foreign.slug}")
    assert "None of your organisations" in answer["text"] and "none yet" in answer["text"]
    staff = await person(engine, slack, role="admin")
    answer = await run(bot, slack_requests, staff, f"org use {foreign.slug}")
    assert "Now using *Foreign Org*" in answer["text"]
    assert "staff (not a member)" in flat(await run(bot, slack_requests, staff, "org"))


async def test_org_use_without_a_slug_shows_how(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    answer = await run(bot, slack_requests, someone, "org use")
    assert "`/cs org use &lt;slug&gt;`" in answer["text"]  # escaped mrkdwn: Slack shows <slug>


# --- create --------------------------------------------------------------------------------------------------------


async def open_create_modal(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, who: Person, words: str
) -> dict[str, Any]:
    request = slack_requests.slash_command(who.slack_id, words, channel_id="C0GENERAL")
    status, body = await bot.send(request)
    assert status == 200 and body == ""
    trigger_id = parse_qs(request.body.decode())["trigger_id"][0]
    await slack.wait_for("views.open", predicate=lambda c: c.args.get("trigger_id") == trigger_id)
    [view] = slack.open_views(who.slack_id)
    return view


def name_values(name: str) -> dict[str, dict[str, Any]]:
    return {render.NAME_BLOCK_ID: {render.NAME_ACTION_ID: name}}


async def orgs_named(engine: AsyncEngine, name: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(text("SELECT id, slug, owner_id FROM organizations WHERE name = :n"), {"n": name})
            ).all()
        )


async def test_org_create_opens_a_modal_prefilled_with_the_name(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    view = await open_create_modal(bot, slack, slack_requests, someone, 'org create "Acme Rockets"')
    assert view["callback_id"] == render.CREATE_CALLBACK_ID
    [block] = view["blocks"]
    assert block["block_id"] == render.NAME_BLOCK_ID and block["element"]["initial_value"] == "Acme Rockets"
    assert json.loads(view["private_metadata"]) == {"channel_id": "C0GENERAL"}


async def test_org_create_submission_makes_org_owner_wallet_and_audit_then_confirms_by_dm(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    name = f"Rocket Lab {uuid.uuid4().hex[:6]}!"
    view = await open_create_modal(bot, slack, slack_requests, someone, "org create")
    status, body = await bot.send(slack_requests.view_submission(someone.slack_id, view, values=name_values(name)))
    assert (status, body) == (200, "")  # an empty ack closes the modal
    [dm] = await dm_texts(slack, someone)
    assert "is ready" in dm
    [org] = await orgs_named(engine, name)
    assert org.slug == name.lower().replace(" ", "-").replace("!", "-") + "-" + str(org.id)[:8]
    assert org.owner_id == someone.user.id
    assert await role_in(engine, org.id, someone.user) == "owner"
    async with engine.connect() as conn:
        wallets = (
            await conn.execute(text("SELECT balance, currency FROM wallets WHERE organization_id = :o"), {"o": org.id})
        ).all()
    assert [(w.balance, w.currency) for w in wallets] == [(Decimal("0.00"), "USD")]
    [row] = await activities(engine, org.id, "org.create")
    assert (row.entity_type, row.entity_id, row.status) == ("organization", str(org.id), "success")
    assert row.metadata["slack_view_id"] == view["id"] and row.metadata["slack_channel_id"] == "C0GENERAL"
    assert row.metadata["slug"] == org.slug
    assert await active_org_of(engine, someone) == org.id
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == someone.slack_id)


async def test_org_create_submitted_twice_at_once_creates_one_organisation(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    name = f"Twice {uuid.uuid4().hex[:6]}"
    view = await open_create_modal(bot, slack, slack_requests, someone, "org create")
    submissions = [slack_requests.view_submission(someone.slack_id, view, values=name_values(name)) for _ in range(3)]
    answers = await asyncio.gather(*(bot.send(s) for s in submissions))
    assert answers == [(200, "")] * 3
    async with asyncio.timeout(5):
        while len(await orgs_named(engine, name)) < 1:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # let the other two submissions finish
    [org] = await orgs_named(engine, name)
    assert len(await activities(engine, org.id, "org.create")) == 1
    assert len(await dm_texts(slack, someone)) == 1


async def test_org_create_with_an_empty_or_overlong_name_shows_the_error_on_the_field(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await person(engine, slack)
    view = await open_create_modal(bot, slack, slack_requests, someone, "org create")
    for name, expected in (("   ", "Enter a name"), ("x" * 256, "at most 255 characters")):
        status, body = await bot.send(slack_requests.view_submission(someone.slack_id, view, values=name_values(name)))
        assert status == 200
        answer = json.loads(body)
        assert answer["response_action"] == "errors"
        assert expected in answer["errors"][render.NAME_BLOCK_ID]
    assert await orgs_named(engine, "x" * 256) == []


async def test_create_button_on_the_empty_card_opens_the_modal(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    lonely = await person(engine, slack)
    answer = await run(bot, slack_requests, lonely, "org")
    [button] = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    click = slack_requests.block_actions(lonely.slack_id, [button], channel_id="C0GENERAL", is_ephemeral=True)
    status, _ = await bot.send(click)
    assert status == 200
    await slack.wait_for("views.open")
    [view] = slack.open_views(lonely.slack_id)
    assert view["callback_id"] == render.CREATE_CALLBACK_ID


# --- members --------------------------------------------------------------------------------------------------------


async def test_org_members_lists_names_emails_roles_and_slack_mentions(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack, name="Olive Owner")
    org = await make_org(engine, owner.user)
    quiet = await make_user(engine, name="Quiet <b>Member</b>")
    await add_member(engine, org, quiet)
    body = flat(await run(bot, slack_requests, owner, "org members"))
    assert "Olive Owner" in body and owner.user.email in body and f"<@{owner.slack_id}>" in body
    assert "Quiet &lt;b&gt;Member&lt;/b&gt;" in body and quiet.email in body
    assert "— owner" in body and "— member" in body


async def test_unlinked_users_are_asked_to_link_before_any_org_command(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    stranger = await person(engine, slack, linked=False)
    for words in ("org", "org list", "org create Acme", "org bind"):
        answer = await run(bot, slack_requests, stranger, words)
        assert "http://127.0.0.1:3000/link/" in flat(answer), words
    assert slack.calls_to("views.open") == []

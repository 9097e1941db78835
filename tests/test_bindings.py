"""`/cs org bind`, `org unbind` and `org bindings`: checked with Slack first, one organisation per channel."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import orgs as render
from tests.conftest import TEAM_ID, RunningBot
from tests.factories import add_member, make_org, make_user
from tests.test_org_commands import Person, activities, flat, next_response, person, run


def new_channel(slack: SlackEmulator, **options: Any) -> str:
    channel_id = "C0" + secrets.token_hex(4).upper()
    slack.add_channel(channel_id, name=f"ops-{channel_id.lower()}", **options)
    return channel_id


async def binding(engine: AsyncEngine, channel_id: str) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT organization_id, notify_billing, notify_vps, notify_tickets, created_by "
                    "FROM bot_channel_bindings WHERE team_id = :t AND channel_id = :c"
                ),
                {"t": TEAM_ID, "c": channel_id},
            )
        ).first()


async def bind(
    bot: RunningBot,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    who: Person,
    channel: str,
    *,
    words: str = "",
) -> dict[str, Any]:
    """Run `org bind` (acked empty, answered through response_url) and return the answer."""
    before = len([r for r in slack.responses if r.user_id == who.slack_id])
    assert await run(bot, slack_requests, who, f"org bind {words}".strip(), channel_id=channel) == ""
    return (await next_response(slack, who, after=before)).payload


async def test_bind_without_kinds_sends_every_kind_to_the_channel(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user, name="Notify Co")
    colleague = await person(engine, slack)
    await add_member(engine, org, colleague.user)
    channel = new_channel(slack)
    answer = await bind(bot, slack, slack_requests, admin, channel)
    assert answer["text"] == "This channel now gets *Notify Co* notices: billing, vps, tickets."
    row = await binding(engine, channel)
    assert (row.organization_id, row.notify_billing, row.notify_vps, row.notify_tickets) == (org.id, True, True, True)
    assert row.created_by == admin.user.id
    [audit] = await activities(engine, org.id, "org.bind")
    assert (audit.entity_type, audit.entity_id, audit.user_id) == ("organization", str(org.id), admin.user.id)
    assert audit.metadata["kinds"] == ["billing", "vps", "tickets"] and audit.metadata["slack_channel_id"] == channel
    calls = [c for c in slack.calls_to("conversations.info") if c.args.get("channel") == channel]
    assert calls and calls[0].ok
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == colleague.slack_id)


async def test_bind_with_kinds_keeps_only_those_and_rebinding_updates_them(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user, name="Picky Co")
    channel = new_channel(slack)
    answer = await bind(bot, slack, slack_requests, admin, channel, words="Tickets billing")
    assert answer["text"].endswith("notices: billing, tickets.")
    row = await binding(engine, channel)
    assert (row.notify_billing, row.notify_vps, row.notify_tickets) == (True, False, True)
    answer = await bind(bot, slack, slack_requests, admin, channel, words="vps")
    assert answer["text"] == "Updated: this channel gets *Picky Co* notices: vps."
    row = await binding(engine, channel)
    assert (row.notify_billing, row.notify_vps, row.notify_tickets) == (False, True, False)
    second = (await activities(engine, org.id, "org.bind"))[1]
    assert second.metadata["previous_kinds"] == ["billing", "tickets"]


async def test_bind_with_an_unknown_kind_lists_the_valid_ones_and_stores_nothing(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    await make_org(engine, admin.user)
    channel = new_channel(slack)
    answer = await run(bot, slack_requests, admin, "org bind billing invoices", channel_id=channel)
    assert "Unknown notification kind “invoices”. Valid kinds: billing, vps, tickets" in answer["text"]
    assert await binding(engine, channel) is None


async def test_member_cannot_bind_or_unbind(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Bound Co")
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    channel = new_channel(slack)
    answer = await run(bot, slack_requests, member, "org bind", channel_id=channel)
    assert "You need to be an organisation admin of “Bound Co” to bind channels to the organisation." in answer["text"]
    assert await binding(engine, channel) is None
    await bind(bot, slack, slack_requests, owner, channel)
    answer = await run(bot, slack_requests, member, "org unbind", channel_id=channel)
    assert "You need to be an organisation admin of “Bound Co”" in answer["text"]
    assert await binding(engine, channel) is not None


async def test_private_channel_without_the_bot_gets_a_setup_hint_and_nothing_is_stored(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user)
    hidden = new_channel(slack, is_private=True, bot_is_member=False, members=[admin.slack_id])
    missing = "C0" + secrets.token_hex(4).upper()  # never created: channel_not_found
    for channel in (hidden, missing):
        answer = await bind(bot, slack, slack_requests, admin, channel)
        assert answer["text"] == render.SETUP_HINT
        assert "/invite @ContainerStacks" in answer["text"]
        assert await binding(engine, channel) is None
    assert await activities(engine, org.id, "org.bind") == []


async def test_private_channel_with_the_bot_can_be_bound(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    await make_org(engine, admin.user)
    channel = new_channel(slack, is_private=True, bot_is_member=True)
    answer = await bind(bot, slack, slack_requests, admin, channel)
    assert "now gets" in answer["text"]
    assert await binding(engine, channel) is not None


async def test_archived_channels_and_direct_messages_cannot_be_bound(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    await make_org(engine, admin.user)
    archived = new_channel(slack, is_archived=True)
    assert (await bind(bot, slack, slack_requests, admin, archived))["text"] == render.ARCHIVED_HINT
    dm = slack.dm_channel_id(admin.slack_id)
    assert (await bind(bot, slack, slack_requests, admin, dm))["text"] == render.NOT_A_CHANNEL
    assert await binding(engine, archived) is None and await binding(engine, dm) is None


async def test_a_channel_bound_to_another_organisation_cannot_be_taken_over(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    first_admin, second_admin = await person(engine, slack), await person(engine, slack)
    first = await make_org(engine, first_admin.user)
    await make_org(engine, second_admin.user)
    channel = new_channel(slack)
    await bind(bot, slack, slack_requests, first_admin, channel)
    answer = await bind(bot, slack, slack_requests, second_admin, channel)
    assert "already receives another organisation's notices" in answer["text"]
    assert (await binding(engine, channel)).organization_id == first.id


async def test_admin_of_both_organisations_may_move_a_channel(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    first = await make_org(engine, admin.user, name="First Co")
    second = await make_org(engine, admin.user, name="Second Co")
    channel = new_channel(slack)
    await run(bot, slack_requests, admin, f"org use {first.slug}")
    await bind(bot, slack, slack_requests, admin, channel)
    # In the bound channel the binding decides the organisation; elsewhere `org use` does.
    await run(bot, slack_requests, admin, f"org use {second.slug}")
    assert "First Co" in flat(await run(bot, slack_requests, admin, "org", channel_id=channel))
    assert "Second Co" in flat(await run(bot, slack_requests, admin, "org"))


async def test_unbind_removes_the_binding_and_records_it(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user, name="Quiet Co")
    channel = new_channel(slack)
    await bind(bot, slack, slack_requests, admin, channel, words="billing")
    answer = await run(bot, slack_requests, admin, "org unbind", channel_id=channel)
    assert answer["text"] == "This channel no longer gets *Quiet Co* notices."
    assert await binding(engine, channel) is None
    [audit] = await activities(engine, org.id, "org.unbind")
    assert audit.metadata["kinds"] == ["billing"] and audit.metadata["slack_channel_id"] == channel
    answer = await run(bot, slack_requests, admin, "org unbind", channel_id=channel)
    assert "This channel is not bound to an organisation." in answer["text"]


async def test_bindings_lists_the_organisations_channels_with_kinds(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user, name="Listing Co")
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    answer = await run(bot, slack_requests, member, "org bindings")
    assert "No channels are bound to *Listing Co*" in answer["text"]
    billing, everything = new_channel(slack), new_channel(slack)
    await bind(bot, slack, slack_requests, admin, billing, words="billing")
    await bind(bot, slack, slack_requests, admin, everything)
    body = flat(await run(bot, slack_requests, member, "org bindings"))
    assert f"<#{billing}> — billing" in body
    assert f"<#{everything}> — billing, vps, tickets" in body


async def test_staff_outside_the_organisation_can_bind_its_channel(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    org = await make_org(engine, await make_user(engine), name="Managed Co")
    staff = await person(engine, slack, role="admin")
    await run(bot, slack_requests, staff, f"org use {org.slug}")
    channel = new_channel(slack)
    answer = await bind(bot, slack, slack_requests, staff, channel, words="tickets")
    assert "*Managed Co*" in answer["text"]
    assert (await binding(engine, channel)).organization_id == org.id
    assert uuid.UUID(str((await activities(engine, org.id, "org.bind"))[0].entity_id)) == org.id


async def test_two_organisations_binding_a_new_channel_at_once_leave_it_with_one(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    first_admin, second_admin = await person(engine, slack), await person(engine, slack)
    first = await make_org(engine, first_admin.user)
    second = await make_org(engine, second_admin.user)
    channel = new_channel(slack)
    requests = [
        slack_requests.slash_command(first_admin.slack_id, "org bind", channel_id=channel),
        slack_requests.slash_command(second_admin.slack_id, "org bind", channel_id=channel),
    ]
    await asyncio.gather(*(bot.send(r) for r in requests))
    answers = [(await next_response(slack, who)).payload["text"] for who in (first_admin, second_admin)]
    assert sum("now gets" in a for a in answers) == 1
    assert sum("already receives another organisation's notices" in a for a in answers) == 1
    winner = (await binding(engine, channel)).organization_id
    assert winner in {first.id, second.id}
    assert len(await activities(engine, winner, "org.bind")) == 1
    loser = second.id if winner == first.id else first.id
    assert await activities(engine, loser, "org.bind") == []

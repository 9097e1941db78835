"""`/cs org invite`, `org role` and `org remove` (with its confirmation button) end to end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.identities import link_identity
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import orgs as render
from bot.services.identity import SlackRef
from bot.services.invites import accept_pending_invites
from tests.conftest import TEAM_ID, RunningBot
from tests.factories import add_member, make_org, make_user, new_slack_user_id
from tests.test_org_commands import Person, activities, dm_texts, next_response, person, role_in, run


async def owner_of(engine: AsyncEngine, org_id: object) -> object:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT owner_id FROM organizations WHERE id = :o"), {"o": org_id})
        ).scalar_one()


async def published_home(slack: SlackEmulator, who: Person) -> None:
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == who.slack_id)


# --- invite ---------------------------------------------------------------------------------------------------------


async def test_invite_of_a_linked_user_adds_them_and_tells_them(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user, name="Invite Co")
    newcomer = await person(engine, slack)
    assert await run(bot, slack_requests, admin, f"org invite {newcomer.mention}") == ""
    reply = await next_response(slack, admin)
    assert f"Added <@{newcomer.slack_id}> to *Invite Co* as member" in reply.payload["text"]
    assert reply.payload["replace_original"] is False
    assert await role_in(engine, org.id, newcomer.user) == "member"
    [row] = await activities(engine, org.id, "org.member.add")
    assert row.user_id == admin.user.id and row.entity_id == str(org.id)
    assert row.metadata["target_user_id"] == str(newcomer.user.id) and row.metadata["role"] == "member"
    assert row.metadata["slack_user_id"] == admin.slack_id and row.metadata["slack_channel_id"] == "C0GENERAL"
    [dm] = await dm_texts(slack, newcomer)
    assert f"<@{admin.slack_id}> added you to *Invite Co* as member" in dm
    await published_home(slack, newcomer)


async def test_invite_as_admin_gives_the_admin_role(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user)
    newcomer = await person(engine, slack)
    await run(bot, slack_requests, owner, f"org invite {newcomer.mention} ADMIN")
    await next_response(slack, owner)
    assert await role_in(engine, org.id, newcomer.user) == "admin"


async def test_invite_of_an_existing_member_says_so_and_changes_nothing(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user)
    member = await person(engine, slack)
    await add_member(engine, org, member.user, "admin")
    await run(bot, slack_requests, owner, f"org invite {member.mention} member")
    reply = await next_response(slack, owner)
    assert "already a member" in reply.payload["text"] and "(as admin)" in reply.payload["text"]
    assert await role_in(engine, org.id, member.user) == "admin"
    assert await activities(engine, org.id, "org.member.add") == []


async def test_invite_of_an_unlinked_user_dms_a_link_prompt_and_joins_them_when_they_link(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    admin = await person(engine, slack)
    org = await make_org(engine, admin.user, name="Pending Co")
    stranger = await person(engine, slack, linked=False)
    await run(bot, slack_requests, admin, f"org invite {stranger.mention} admin")
    reply = await next_response(slack, admin)
    assert "hasn't linked a ContainerStacks account yet" in reply.payload["text"]
    async with engine.connect() as conn:
        [invite] = (
            await conn.execute(
                text("SELECT role, invited_by, accepted_at FROM bot_org_invites WHERE organization_id = :o"),
                {"o": org.id},
            )
        ).all()
    assert (invite.role, invite.invited_by, invite.accepted_at) == ("admin", admin.user.id, None)
    [dm] = await dm_texts(slack, stranger)
    assert f"<@{admin.slack_id}> invited you to join *Pending Co*" in dm
    assert "http://127.0.0.1:3000/link/" in dm
    [row] = await activities(engine, org.id, "org.member.invite")
    assert row.metadata["target_slack_user_id"] == stranger.slack_id and row.metadata["role"] == "admin"
    # What the linking flow does in its transaction: link, then accept pending invites.
    slack_ref = SlackRef("", TEAM_ID, stranger.slack_id)
    async with engine.begin() as conn:
        await link_identity(
            conn, enterprise_id="", team_id=TEAM_ID, slack_user_id=stranger.slack_id, user_id=stranger.user.id,
            linked_via="password",
        )  # fmt: skip
        accepted = await accept_pending_invites(conn, slack_ref, stranger.user.id)
    assert [(a.organization_id, a.role, a.added) for a in accepted] == [(org.id, "admin", True)]
    assert await role_in(engine, org.id, stranger.user) == "admin"


async def test_invite_refuses_owner_unknown_roles_and_missing_mentions(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user)
    other = await person(engine, slack)
    cases = {
        f"org invite {other.mention} owner": "Invites are for members and admins",
        f"org invite {other.mention} boss": "“boss” is not a role here. Use one of: member, admin.",
        "org invite": "Mention the person, for example: `/cs org invite @user [member|admin]`",
        "org invite bob": "I couldn't read “bob” as a person",
    }
    for words, expected in cases.items():
        answer = await run(bot, slack_requests, owner, words)
        assert expected in answer["text"], words
    assert await role_in(engine, org.id, other.user) is None


async def test_invite_refuses_bots_deleted_and_unknown_slack_users(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user)
    robot, ghost = new_slack_user_id(), new_slack_user_id()
    slack.add_user(robot, name="deploybot", is_bot=True)
    slack.add_user(ghost, name="gone", deleted=True)
    cases = [
        (f"<@{robot}|deploybot>", "deploybot is a bot; only people can join"),
        (f"<@{ghost}|gone>", "gone's Slack account is deactivated"),
        (f"<@{new_slack_user_id()}|who>", "I can't find that person in this Slack workspace."),
    ]
    for index, (mention, expected) in enumerate(cases):
        assert await run(bot, slack_requests, owner, f"org invite {mention}") == ""
        reply = await next_response(slack, owner, after=index)
        assert expected in reply.payload["text"]
    async with engine.connect() as conn:
        invites = (
            await conn.execute(text("SELECT count(*) FROM bot_org_invites WHERE organization_id = :o"), {"o": org.id})
        ).scalar_one()
    assert invites == 0


async def test_member_cannot_invite_and_is_told_the_role_needed(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Strict Co")
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    newcomer = await person(engine, slack)
    answer = await run(bot, slack_requests, member, f"org invite {newcomer.mention}")
    assert "You need to be an organisation admin of “Strict Co” to invite members." in answer["text"]
    assert await role_in(engine, org.id, newcomer.user) is None


async def test_staff_can_invite_into_an_organisation_they_do_not_belong_to(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    org = await make_org(engine, await make_user(engine))
    staff = await person(engine, slack, role="admin")
    newcomer = await person(engine, slack)
    await run(bot, slack_requests, staff, f"org use {org.slug}")
    await run(bot, slack_requests, staff, f"org invite {newcomer.mention}")
    await next_response(slack, staff)
    assert await role_in(engine, org.id, newcomer.user) == "member"
    assert await role_in(engine, org.id, staff.user) is None


# --- role ---------------------------------------------------------------------------------------------------------


async def test_owner_changes_a_role_and_it_is_audited_with_old_and_new(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Roles Co")
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    answer = await run(bot, slack_requests, owner, f"org role {member.mention} admin")
    assert f"<@{member.slack_id}> is now admin of *Roles Co* (was member)." == answer["text"]
    assert await role_in(engine, org.id, member.user) == "admin"
    [row] = await activities(engine, org.id, "org.member.role")
    assert (row.metadata["old_role"], row.metadata["new_role"]) == ("member", "admin")
    assert row.metadata["target_user_id"] == str(member.user.id) and row.user_id == owner.user.id
    await published_home(slack, member)


async def test_admin_cannot_change_roles(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Ladder Co")
    admin, member = await person(engine, slack), await person(engine, slack)
    await add_member(engine, org, admin.user, "admin")
    await add_member(engine, org, member.user)
    answer = await run(bot, slack_requests, admin, f"org role {member.mention} admin")
    assert "You need to be an organisation owner of “Ladder Co” to change member roles." in answer["text"]
    assert await role_in(engine, org.id, member.user) == "member"


async def test_role_refuses_unknown_roles_missing_roles_and_unlinked_or_foreign_people(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    await make_org(engine, owner.user)
    unlinked, outsider = await person(engine, slack, linked=False), await person(engine, slack)
    cases = {
        f"org role {owner.mention} king": "“king” is not a role here. Use one of: member, admin, owner.",
        f"org role {owner.mention}": "Say which role",
        f"org role {unlinked.mention} admin": "has not linked a ContainerStacks account",
        f"org role {outsider.mention} admin": f"{outsider.user.name} is not a member",
    }
    for words, expected in cases.items():
        answer = await run(bot, slack_requests, owner, words)
        assert expected in answer["text"], words


async def test_the_last_owner_cannot_be_demoted(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Solo Co")
    answer = await run(bot, slack_requests, owner, f"org role {owner.mention} admin")
    assert "last owner of “Solo Co”" in answer["text"]
    assert await role_in(engine, org.id, owner.user) == "owner"


async def test_demoting_the_owner_of_record_hands_owner_id_to_another_owner(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    founder = await person(engine, slack)
    org = await make_org(engine, founder.user)
    partner = await person(engine, slack)
    await add_member(engine, org, partner.user)
    await run(bot, slack_requests, founder, f"org role {partner.mention} owner")
    await run(bot, slack_requests, founder, f"org role {founder.mention} member")
    assert await role_in(engine, org.id, founder.user) == "member"
    assert await owner_of(engine, org.id) == partner.user.id


async def test_two_owners_demoting_each_other_at_once_leave_exactly_one_owner(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    for _ in range(3):
        first = await person(engine, slack)
        org = await make_org(engine, first.user)
        second = await person(engine, slack)
        await add_member(engine, org, second.user, "owner")
        requests = [
            slack_requests.slash_command(first.slack_id, f"org role {second.mention} admin"),
            slack_requests.slash_command(second.slack_id, f"org role {first.mention} admin"),
        ]
        answers = [json.loads(body) for _, body in await asyncio.gather(*(bot.send(r) for r in requests))]
        roles = [await role_in(engine, org.id, first.user), await role_in(engine, org.id, second.user)]
        assert sorted(roles) == ["admin", "owner"]
        assert sum("is now admin" in a["text"] for a in answers) == 1
        assert await owner_of(engine, org.id) == (first.user.id if roles[0] == "owner" else second.user.id)


# --- remove -----------------------------------------------------------------------------------------------------


def confirm_button(answer: dict[str, Any]) -> dict[str, Any]:
    [button] = [
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == render.REMOVE_CONFIRM_ACTION_ID
    ]
    return button


async def click(
    bot: RunningBot, slack_requests: SlackRequestFactory, who: Person, button: dict[str, Any]
) -> tuple[int, str]:
    action = {k: button[k] for k in ("action_id", "value")}
    return await bot.send(
        slack_requests.block_actions(who.slack_id, [action], channel_id="C0GENERAL", is_ephemeral=True)
    )


async def test_admin_removes_a_member_after_confirming(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Prune Co")
    admin, member = await person(engine, slack), await person(engine, slack, name="Mo Member")
    await add_member(engine, org, admin.user, "admin")
    await add_member(engine, org, member.user)
    answer = await run(bot, slack_requests, admin, f"org remove {member.mention}")
    button = confirm_button(answer)
    assert button["style"] == "danger"
    assert button["confirm"]["title"]["text"] == "Remove member?"
    assert "Mo Member" in button["confirm"]["text"]["text"] and "Prune Co" in button["confirm"]["text"]["text"]
    assert {"confirm", "deny"} <= set(button["confirm"])
    assert await role_in(engine, org.id, member.user) == "member"  # asking changes nothing
    status, _ = await click(bot, slack_requests, admin, button)
    assert status == 200
    reply = await next_response(slack, admin)
    assert reply.payload["replace_original"] is True
    assert reply.payload["text"] == "Removed Mo Member (member) from *Prune Co*."
    assert await role_in(engine, org.id, member.user) is None
    [row] = await activities(engine, org.id, "org.member.remove")
    assert row.metadata["target_user_id"] == str(member.user.id) and row.metadata["role"] == "member"
    assert row.metadata["self_removal"] is False and row.user_id == admin.user.id
    await published_home(slack, member)


async def test_cancel_on_the_confirmation_removes_nobody(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user)
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    answer = await run(bot, slack_requests, owner, f"org remove {member.mention}")
    [cancel] = [
        e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == render.REMOVE_CANCEL_ACTION_ID
    ]  # fmt: skip
    await click(bot, slack_requests, owner, cancel)
    reply = await next_response(slack, owner)
    assert reply.payload["text"] == render.REMOVE_CANCELLED and reply.payload["replace_original"] is True
    assert await role_in(engine, org.id, member.user) == "member"


async def test_member_cannot_remove_and_admin_cannot_remove_an_owner(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Guarded Co")
    admin, member, other = await person(engine, slack), await person(engine, slack), await person(engine, slack)
    await add_member(engine, org, admin.user, "admin")
    await add_member(engine, org, member.user)
    await add_member(engine, org, other.user)
    stranger = await person(engine, slack, linked=False)
    for target in (other, stranger):
        answer = await run(bot, slack_requests, member, f"org remove {target.mention}")
        assert "You need to be an organisation admin of “Guarded Co” to remove members." in answer["text"]
    answer = await run(bot, slack_requests, admin, f"org remove {owner.mention}")
    assert "You need to be an organisation owner of “Guarded Co” to remove admins or owners." in answer["text"]
    answer = await run(bot, slack_requests, owner, f"org remove {admin.mention}")
    confirm_button(answer)  # owners may remove admins


async def test_the_last_owner_cannot_remove_themselves(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Captain Co")
    answer = await run(bot, slack_requests, owner, f"org remove {owner.mention}")
    assert "You are the last owner of “Captain Co”" in answer["text"]
    assert await role_in(engine, org.id, owner.user) == "owner"


async def test_a_member_may_leave(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    org = await make_org(engine, await make_user(engine), name="Exit Co")
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    answer = await run(bot, slack_requests, member, f"org remove {member.mention}")
    assert "Leave *Exit Co*?" in answer["text"]
    await click(bot, slack_requests, member, confirm_button(answer))
    reply = await next_response(slack, member)
    assert reply.payload["text"] == "You left *Exit Co*."
    assert await role_in(engine, org.id, member.user) is None
    [row] = await activities(engine, org.id, "org.member.remove")
    assert row.metadata["self_removal"] is True


async def test_removal_is_rechecked_when_the_button_is_clicked(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Recheck Co")
    admin, member = await person(engine, slack), await person(engine, slack)
    await add_member(engine, org, admin.user, "admin")
    await add_member(engine, org, member.user)
    button = confirm_button(await run(bot, slack_requests, admin, f"org remove {member.mention}"))
    await run(bot, slack_requests, owner, f"org role {admin.mention} member")  # demoted before the click
    await click(bot, slack_requests, admin, button)
    reply = await next_response(slack, admin)
    assert reply.payload["replace_original"] is True
    assert "You need to be an organisation admin of “Recheck Co” to remove members." in reply.payload["text"]
    assert await role_in(engine, org.id, member.user) == "member"
    assert await activities(engine, org.id, "org.member.remove") == []


async def test_removing_the_owner_of_record_hands_owner_id_to_the_remaining_owner(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    founder = await person(engine, slack)
    org = await make_org(engine, founder.user)
    partner = await person(engine, slack)
    await add_member(engine, org, partner.user, "owner")
    await click(
        bot,
        slack_requests,
        partner,
        confirm_button(await run(bot, slack_requests, partner, f"org remove {founder.mention}")),
    )
    await next_response(slack, partner)
    assert await role_in(engine, org.id, founder.user) is None
    assert await owner_of(engine, org.id) == partner.user.id
    [row] = await activities(engine, org.id, "org.member.remove")
    assert row.metadata["owner_id_transferred_to"] == str(partner.user.id)


async def test_staff_outside_the_organisation_can_change_roles_and_remove(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await person(engine, slack)
    org = await make_org(engine, owner.user, name="Audited Co")
    member = await person(engine, slack)
    await add_member(engine, org, member.user)
    staff = await person(engine, slack, role="admin")
    await run(bot, slack_requests, staff, f"org use {org.slug}")
    answer = await run(bot, slack_requests, staff, f"org role {member.mention} admin")
    assert "is now admin" in answer["text"]
    await click(
        bot,
        slack_requests,
        staff,
        confirm_button(await run(bot, slack_requests, staff, f"org remove {member.mention}")),
    )
    reply = await next_response(slack, staff)
    assert "Removed" in reply.payload["text"]
    assert await role_in(engine, org.id, member.user) is None

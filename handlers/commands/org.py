"""`/cs org …`: organisations, members and channel bindings (parse → service → render)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import CommandSpec, CommandTable, parse_user_mention
from bot.errors import UserError
from bot.rendering import orgs as render
from bot.rendering.help import render_unknown_command
from bot.services import bindings, orgs
from bot.services.container import Services
from bot.services.identity import Actor, SlackRef, resolve_actor
from bot.services.permissions import Action, OrgRole
from bot.slack.errors import SlackFailure, classify
from bot.slack.home import refresh_home
from handlers.commands.base import CommandCall, CommandHandler

GROUP = "Organisations"
#: At most this many Home tabs are re-published after one change (the rest refresh when opened).
MAX_HOME_REFRESHES = 25


def _spec(slug: tuple[str, ...], usage: str, description: str, *aliases: tuple[str, ...]) -> CommandSpec:
    return CommandSpec(slug=slug, usage=usage, description=description, group=GROUP, aliases=aliases)


SHOW = _spec(("org",), "org", "Your active organisation: role, members and wallet.")
LIST = _spec(("org", "list"), "org list", "All your organisations, with the active one marked.", ("orgs",))
USE = _spec(("org", "use"), "org use <slug>", "Choose the organisation your commands apply to.", ("org", "switch"))
CREATE = _spec(("org", "create"), "org create [name]", "Create an organisation (you become its owner).")
MEMBERS = _spec(("org", "members"), "org members", "Members of the organisation and their roles.")
INVITE = _spec(("org", "invite"), "org invite @user [member|admin]", "Add someone to the organisation (admin).")
ROLE = _spec(("org", "role"), "org role @user <member|admin|owner>", "Change a member's role (owner).")
REMOVE = _spec(("org", "remove"), "org remove @user", "Remove a member, or yourself, after a confirmation.")
BIND = _spec(
    ("org", "bind"), "org bind [billing] [vps] [tickets]", "Send this organisation's notices to this channel (admin)."
)
UNBIND = _spec(("org", "unbind"), "org unbind", "Stop this channel's organisation notices (admin).")
BINDINGS = _spec(("org", "bindings"), "org bindings", "Channels that receive the organisation's notices.")

INVITE_ROLES = (OrgRole.MEMBER, OrgRole.ADMIN)
MISSING_MENTION = "Mention the person, for example: `{usage}`"
NOT_A_MENTION = "I couldn't read “{word}” as a person. Pick them from Slack's @-autocomplete, for example: `{usage}`"
MISSING_ROLE = "Say which role, for example: `{usage}`"
MISSING_SLUG = "Say which organisation, for example: `{usage}` (see `{command} org list`)."
UNKNOWN_SLACK_USER = "I can't find that person in this Slack workspace."
INVITE_BOT = "{name} is a bot; only people can join an organisation."
INVITE_DELETED = "{name}'s Slack account is deactivated, so they cannot join."
OPEN_FAILED = "Slack didn't let me open the form in time. Please run the command again."
SLACKBOT_ID = "USLACKBOT"


def register_commands(table: CommandTable[CommandHandler]) -> None:
    for spec, handler in (
        (SHOW, show_organisation),
        (LIST, list_organisations),
        (USE, use_organisation),
        (CREATE, create_organisation),
        (MEMBERS, list_members),
        (INVITE, invite_member),
        (ROLE, change_role),
        (REMOVE, remove_member),
        (BIND, bind_channel),
        (UNBIND, unbind_channel),
        (BINDINGS, list_bindings),
    ):
        table.add(spec, handler)


# --- helpers ----------------------------------------------------------------------------------------------


async def refresh_homes(services: Services, client: AsyncWebClient, targets: Iterable[SlackRef]) -> None:
    """Re-publish affected users' App Home after a change has committed (best effort, one at a time)."""
    for slack in list(dict.fromkeys(targets))[:MAX_HOME_REFRESHES]:
        await refresh_home(services, client, slack)


def _usage(call: CommandCall) -> str:
    return f"{call.command} {call.spec.usage}"


def _org_required(call: CommandCall) -> Actor:
    actor = call.linked
    if actor.org is None:
        raise UserError(render.NO_ORGANISATION_HINT.format(command=call.command))
    return actor


def _mentioned(call: CommandCall) -> SlackRef:
    if not call.args:
        raise UserError(MISSING_MENTION.format(usage=_usage(call)))
    slack_user_id = parse_user_mention(call.args[0])
    if slack_user_id is None:
        raise UserError(NOT_A_MENTION.format(word=call.args[0], usage=_usage(call)))
    return SlackRef(call.slack.enterprise_id, call.slack.team_id, slack_user_id)


async def _check_invitee(client: AsyncWebClient, slack_user_id: str) -> None:
    """Only real, active people can be invited (users.info)."""
    try:
        response = await client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        if classify(exc).code in {"user_not_found", "user_not_visible"}:
            raise UserError(UNKNOWN_SLACK_USER) from exc
        raise
    user = response.get("user") or {}
    name = (user.get("profile") or {}).get("display_name") or user.get("real_name") or user.get("name") or "They"
    if user.get("is_bot") or slack_user_id == SLACKBOT_ID:
        raise UserError(INVITE_BOT.format(name=name))
    if user.get("deleted"):
        raise UserError(INVITE_DELETED.format(name=name))


async def _channel_problem(client: AsyncWebClient, channel_id: str | None) -> str | None:
    """Why notices cannot go to this channel (a setup hint), or None when they can."""
    if not channel_id:
        return render.NOT_A_CHANNEL
    try:
        response = await client.conversations_info(channel=channel_id)
    except SlackApiError as exc:
        if classify(exc).category is SlackFailure.CHANNEL:
            return render.SETUP_HINT
        raise
    channel = response.get("channel") or {}
    if channel.get("is_im") or channel.get("is_mpim"):
        return render.NOT_A_CHANNEL
    if channel.get("is_archived"):
        return render.ARCHIVED_HINT
    if channel.get("is_private") and not channel.get("is_member"):
        return render.SETUP_HINT
    return None


# --- reading and choosing -------------------------------------------------------------------------------


async def show_organisation(call: CommandCall) -> None:
    if call.args:
        typed = ["org", *call.args]
        await call.reply(render_unknown_command(call.command, " ".join(typed), call.table.suggest(typed)))
        return
    card = await orgs.org_card(call.services.engine, call.linked)
    if card is None:
        await call.reply(render.render_no_organisation(call.command))
    else:
        await call.reply(render.render_org_card(card, call.command))


async def list_organisations(call: CommandCall) -> None:
    await call.reply(await organisation_page(call.services, call.linked))


async def organisation_page(services: Services, actor: Actor, *, offset: int = 0) -> dict[str, Any]:
    """A page of `/cs org list` (the command shows the first; page buttons the others)."""
    listing = await orgs.list_organizations(services.engine, actor, offset=offset)
    return render.render_org_list(listing, services.settings.slack_command)


async def use_organisation(call: CommandCall) -> None:
    if not call.args:
        raise UserError(MISSING_SLUG.format(usage=_usage(call), command=call.command))
    engine = call.services.engine
    chosen = await orgs.use_organization(
        engine, call.linked, call.args[0], channel_id=call.channel_id, command=call.command
    )
    now = await resolve_actor(call.services.pool, call.slack, call.channel_id)
    overridden = now is not None and now.org is not None and now.org.id != chosen.id
    await call.reply(render.render_org_chosen(chosen, overridden_here=overridden))
    await refresh_homes(call.services, call.client, [call.slack])


async def create_organisation(call: CommandCall) -> None:
    """Open the modal first (the trigger id lives 3 s); the submission does the work."""
    view = render.render_create_modal(" ".join(call.args), channel_id=call.channel_id)
    try:
        await call.client.views_open(trigger_id=call.body["trigger_id"], view=view)
    except SlackApiError as exc:
        if classify(exc).code not in {"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"}:
            raise
        raise UserError(OPEN_FAILED) from exc
    await call.ack()


async def list_members(call: CommandCall) -> None:
    await call.reply(await member_page(call.services, _org_required(call)))


async def member_page(services: Services, actor: Actor, *, offset: int = 0) -> dict[str, Any]:
    listing = await orgs.list_members(services.engine, actor, offset=offset)
    return render.render_members(listing, services.settings.slack_command)


# --- membership changes -------------------------------------------------------------------------------------


async def invite_member(call: CommandCall) -> None:
    actor = _org_required(call)
    actor.require(Action.INVITE_MEMBERS)
    invitee = _mentioned(call)
    word = call.args[1] if len(call.args) > 1 else OrgRole.MEMBER.label
    if word.lower() == OrgRole.OWNER.label:
        raise orgs.OwnerInviteRefused
    role = orgs.parse_role(word, INVITE_ROLES)
    await call.ack()  # users.info is a Slack round trip: answer through response_url from here on
    await _check_invitee(call.client, invitee.user_id)
    settings = call.services.settings
    outcome = await orgs.invite(
        call.services.engine,
        actor,
        invitee,
        role,
        channel_id=call.channel_id,
        messages=render.DirectMessages(call.command),
        link_secret=settings.bot_secret.get_secret_value() if settings.bot_secret else None,
        public_url=settings.public_url,
    )
    await call.reply(render.render_invite_result(outcome))
    await refresh_homes(call.services, call.client, outcome.refresh)


async def change_role(call: CommandCall) -> None:
    actor = _org_required(call)
    actor.require(Action.CHANGE_ROLES)
    target = _mentioned(call)
    if len(call.args) < 2:
        raise UserError(MISSING_ROLE.format(usage=_usage(call)))
    role = orgs.parse_role(call.args[1])
    change = await orgs.change_role(call.services.engine, actor, target, role, channel_id=call.channel_id)
    await call.reply(render.render_role_changed(change))
    await refresh_homes(call.services, call.client, change.refresh)


async def remove_member(call: CommandCall) -> None:
    """Only asks: the confirmation button (handlers.actions.org) performs the removal."""
    actor = _org_required(call)
    plan = await orgs.plan_removal(call.services.engine, actor, _mentioned(call))
    await call.reply(render.render_remove_confirmation(plan))


# --- channel bindings ----------------------------------------------------------------------------------------


async def bind_channel(call: CommandCall) -> None:
    actor = _org_required(call)
    kinds = bindings.prepare_bind(actor, call.args)
    await call.ack()  # conversations.info is a Slack round trip
    problem = await _channel_problem(call.client, call.channel_id)
    if problem is not None:
        await call.reply(render.render_notice(problem))
        return
    outcome = await bindings.bind(call.services.engine, actor, str(call.channel_id), kinds)
    await call.reply(render.render_bound(outcome))
    await refresh_homes(call.services, call.client, outcome.refresh)


async def unbind_channel(call: CommandCall) -> None:
    if not call.channel_id:
        raise UserError(render.NOT_A_CHANNEL)
    outcome = await bindings.unbind(call.services.engine, call.linked, call.channel_id)
    await call.reply(render.render_unbound(outcome))
    await refresh_homes(call.services, call.client, outcome.refresh)


async def list_bindings(call: CommandCall) -> None:
    await call.reply(await binding_page(call.services, _org_required(call)))


async def binding_page(services: Services, actor: Actor, *, offset: int = 0) -> dict[str, Any]:
    listing = await bindings.list_bindings(services.engine, actor, offset=offset)
    return render.render_bindings(listing, services.settings.slack_command)

"""The Web API methods the emulator serves, one plain function each.

A method takes the merged request arguments and returns the success body without ``ok``; any
failure is a raised ``SlackError``. Arguments may arrive as JSON values or as form strings, so the
helpers here accept both, just as Slack does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulators.slack.blockkit import MESSAGE_TEXT_MAX, message_problems
from bot.emulators.slack.errors import SlackError, invalid_arguments, invalid_blocks
from bot.emulators.slack.files import FileStore
from bot.emulators.slack.state import Identity, Reach, World
from bot.emulators.slack.views import TriggerRegistry, ViewStore, validate_view

Args = dict[str, Any]
MAX_CONVERSATION_USERS = 8
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "users:read.email",
    "im:write",
    "im:history",
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "reactions:write",
    "team:read",
    "files:write",
)


@dataclass
class Backend:
    """Everything a method may read or change."""

    identity: Identity
    world: World
    views: ViewStore
    triggers: TriggerRegistry
    strict_blocks: bool = True
    files: FileStore | None = None
    upload_url: Callable[[str], str] = lambda upload_id: upload_id
    reach: Reach = None
    """The teams the calling token may act in (None: unrestricted)."""
    token_user_id: str | None = None
    """Whom the token speaks for: the bot user of a bot token, the installer of a user token."""


Method = Callable[[Backend, Args], dict[str, Any]]


# --- argument helpers ----------------------------------------------------------------------------


def _flag(args: Args, name: str) -> bool:
    return args.get(name) in (True, 1, "1", "true", "True")


def _json_arg(args: Args, name: str, *, error: str) -> Any:
    """A structured argument, sent either as JSON or as a JSON string inside a form field."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def _message_content(args: Args, *, strict: bool) -> dict[str, Any]:
    """Validated text/blocks/attachments of a message being posted or edited."""
    text = args.get("text")
    markdown_text = args.get("markdown_text")
    blocks = _json_arg(args, "blocks", error="invalid_blocks_format")
    attachments = _json_arg(args, "attachments", error="invalid_attachments")
    if not (text or markdown_text or blocks or attachments):
        raise SlackError("no_text")
    if text and markdown_text:
        raise SlackError("markdown_text_conflict")
    if text and len(str(text)) > MESSAGE_TEXT_MAX:
        raise SlackError("msg_too_long")
    content: dict[str, Any] = {"text": str(text or markdown_text or "")}
    if blocks is not None:
        if problems := message_problems(blocks, strict=strict):
            raise invalid_blocks(problems)
        content["blocks"] = blocks
    if attachments:
        content["attachments"] = attachments
    return content


def _metadata(args: Args) -> dict[str, Any] | None:
    metadata = _json_arg(args, "metadata", error="invalid_metadata_format")
    if metadata is None:
        return None
    if not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload", {}), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return metadata


def _user_ids(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


# --- auth and users -------------------------------------------------------------------------------


def auth_test(b: Backend, args: Args) -> dict[str, Any]:
    """Who the token is: its install's team (the org for an org-wide install) and its user."""
    user_id = b.token_user_id or b.identity.bot_user_id
    user = b.world.users.get(user_id)
    body: dict[str, Any] = {
        "url": b.identity.workspace_url,
        "team": b.identity.team_domain,
        "user": user.name if user else user_id.lower(),
        "team_id": b.identity.team_id,
        "user_id": user_id,
        "is_enterprise_install": b.identity.is_enterprise_install,
    }
    if user_id == b.identity.bot_user_id:
        body["bot_id"] = b.identity.bot_id
    if b.identity.enterprise_id:
        body["enterprise_id"] = b.identity.enterprise_id
    return body


def users_info(b: Backend, args: Args) -> dict[str, Any]:
    return {"user": b.world.user(args.get("user"), b.reach).to_api()}


def team_info(b: Backend, args: Args) -> dict[str, Any]:
    """The token's workspace; another team only inside the org of an org-wide install."""
    wanted = args.get("team") or b.identity.team_id
    workspace = b.world.directory.workspace(wanted)
    if workspace is None or (wanted != b.identity.team_id and (b.reach is not None and wanted not in b.reach)):
        raise SlackError("team_not_found")
    team: dict[str, Any] = {
        "id": workspace.id,
        "name": workspace.name,
        "domain": workspace.domain,
        "email_domain": "",
        "icon": {"image_default": True},
    }
    if workspace.enterprise_id:
        enterprise = b.world.directory.enterprises[workspace.enterprise_id]
        team.update(enterprise_id=enterprise.id, enterprise_name=enterprise.name)
    return {"team": team}


def users_lookup_by_email(b: Backend, args: Args) -> dict[str, Any]:
    return {"user": b.world.user_by_email(str(args.get("email") or ""), b.reach).to_api()}


# --- chat -----------------------------------------------------------------------------------------


def chat_post_message(b: Backend, args: Args) -> dict[str, Any]:
    channel = b.world.postable_channel(args.get("channel"), b.reach)
    content = _message_content(args, strict=b.strict_blocks)
    metadata = _metadata(args)
    if metadata is not None:
        content["metadata"] = metadata
    message = b.world.post(
        channel,
        content,
        author=b.world.bot_author(b.identity),
        thread_ts=args.get("thread_ts") or None,
        reply_broadcast=_flag(args, "reply_broadcast"),
    )
    return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}


def chat_post_ephemeral(b: Backend, args: Args) -> dict[str, Any]:
    channel = b.world.postable_channel(args.get("channel"), b.reach)
    user_id = args.get("user")
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    message = b.world.post_ephemeral(
        channel.id,
        user_id,
        _message_content(args, strict=b.strict_blocks),
        thread_ts=args.get("thread_ts") or None,
        source="chat.postEphemeral",
        author=b.world.bot_author(b.identity),
    )
    return {"message_ts": message["ts"]}


def _own_message(b: Backend, args: Args, *, ts_arg: str, refusal: str) -> tuple[str, dict[str, Any]]:
    channel = b.world.visible_channel(args.get("channel"), b.reach)
    message = b.world.message(channel, args.get(ts_arg))
    if message.get("bot_id") != b.identity.bot_id:
        raise SlackError(refusal)
    return channel.id, message


def chat_update(b: Backend, args: Args) -> dict[str, Any]:
    channel_id, message = _own_message(b, args, ts_arg="ts", refusal="cant_update_message")
    message.update(_message_content(args, strict=b.strict_blocks))
    metadata = _metadata(args)
    if metadata is not None:
        message["metadata"] = metadata
    message["edited"] = {"user": b.identity.bot_user_id, "ts": b.world.ts.next()}
    return {
        "channel": channel_id,
        "ts": message["ts"],
        "text": message["text"],
        "message": copy.deepcopy(message),
    }


def chat_delete(b: Backend, args: Args) -> dict[str, Any]:
    channel_id, message = _own_message(b, args, ts_arg="ts", refusal="cant_delete_message")
    del b.world.channels[channel_id].messages[message["ts"]]
    return {"channel": channel_id, "ts": message["ts"]}


def chat_get_permalink(b: Backend, args: Args) -> dict[str, Any]:
    channel = b.world.visible_channel(args.get("channel"), b.reach)
    message = b.world.message(channel, args.get("message_ts"))
    workspace = b.world.directory.workspace(channel.team_id)
    base = workspace.url if workspace else b.identity.workspace_url
    permalink = f"{base}archives/{channel.id}/p{message['ts'].replace('.', '')}"
    return {"channel": channel.id, "permalink": permalink}


def reactions_add(b: Backend, args: Args) -> dict[str, Any]:
    name = str(args.get("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name")
    channel = b.world.visible_channel(args.get("channel"), b.reach)
    if not args.get("timestamp"):
        raise SlackError("no_item_specified")
    message = b.world.message(channel, args.get("timestamp"))
    reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
    reaction = next((r for r in reactions if r["name"] == name), None)
    if reaction is None:
        reaction = {"name": name, "users": [], "count": 0}
        reactions.append(reaction)
    if b.identity.bot_user_id in reaction["users"]:
        raise SlackError("already_reacted")
    reaction["users"].append(b.identity.bot_user_id)
    reaction["count"] += 1
    return {}


# --- conversations --------------------------------------------------------------------------------


def conversations_info(b: Backend, args: Args) -> dict[str, Any]:
    return {"channel": b.world.visible_channel(args.get("channel"), b.reach).to_api()}


def conversations_open(b: Backend, args: Args) -> dict[str, Any]:
    if args.get("channel"):
        channel = b.world.visible_channel(args.get("channel"), b.reach)
        return {"channel": channel.to_api() if _flag(args, "return_im") else {"id": channel.id}}
    user_ids = _user_ids(args.get("users"))
    if not user_ids:
        raise SlackError("users_list_not_supplied")
    if len(user_ids) > MAX_CONVERSATION_USERS:
        raise SlackError("too_many_users")
    for user_id in user_ids:
        b.world.user(user_id, b.reach)
    if len(user_ids) == 1:
        already_open = "D" + user_ids[0][1:] in b.world.channels
        channel = b.world.dm(user_ids[0])
    else:
        channel = b.world.mpim(user_ids)
        already_open = False
    body: dict[str, Any] = {"channel": channel.to_api() if _flag(args, "return_im") else {"id": channel.id}}
    if already_open:
        body.update(no_op=True, already_open=True)
    return body


def conversations_replies(b: Backend, args: Args) -> dict[str, Any]:
    channel = b.world.visible_channel(args.get("channel"), b.reach)
    messages = b.world.thread(channel.id, str(args.get("ts") or ""))
    if not messages:
        raise SlackError("thread_not_found")
    return {"messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}


# --- files ----------------------------------------------------------------------------------------


def _file_store(b: Backend) -> FileStore:
    if b.files is None:
        raise SlackError("unknown_method")
    return b.files


def files_get_upload_url_external(b: Backend, args: Args) -> dict[str, Any]:
    stored = _file_store(b).start(args, team_id=b.identity.team_id)
    return {"upload_url": b.upload_url(stored.upload_id), "file_id": stored.id}


def files_complete_upload_external(b: Backend, args: Args) -> dict[str, Any]:
    files = _json_arg(args, "files", error="invalid_arguments")
    return {"files": _file_store(b).complete(b.world, args, files, identity=b.identity, reach=b.reach)}


# --- views ----------------------------------------------------------------------------------------


def _reaches_user(b: Backend, user_id: str) -> bool:
    try:
        b.world.user(user_id, b.reach)
    except SlackError:
        return False
    return True


def _owner(b: Backend, user_id: str) -> tuple[Identity, str]:
    """The calling install, and the workspace the user sees the view in."""
    team = b.world.team_of_user(user_id)
    return b.identity, team if b.reach is None or team in b.reach else b.identity.team_id


def _view_arg(args: Args) -> Any:
    return _json_arg(args, "view", error="invalid_arguments")


def _trigger_arg(args: Args) -> str | None:
    return args.get("trigger_id") or args.get("interactivity_pointer")


def views_open(b: Backend, args: Args) -> dict[str, Any]:
    definition = validate_view(_view_arg(args), kind="modal", strict=b.strict_blocks)
    user_id = b.triggers.redeem(_trigger_arg(args))
    return {"view": copy.deepcopy(b.views.open(user_id, definition, _owner(b, user_id)))}


def views_push(b: Backend, args: Args) -> dict[str, Any]:
    definition = validate_view(_view_arg(args), kind="modal", strict=b.strict_blocks)
    user_id = b.triggers.redeem(_trigger_arg(args))
    return {"view": copy.deepcopy(b.views.push(user_id, definition, _owner(b, user_id)))}


def views_update(b: Backend, args: Args) -> dict[str, Any]:
    current = b.views.find(args.get("view_id"), args.get("external_id"), b.reach)
    definition = validate_view(_view_arg(args), kind=current["type"], strict=b.strict_blocks)
    owner = (b.identity, current["team_id"])
    view = b.views.update(current["id"], definition, expected_hash=args.get("hash"), owner=owner)
    return {"view": copy.deepcopy(view)}


def views_publish(b: Backend, args: Args) -> dict[str, Any]:
    user_id = str(args.get("user_id") or "")
    if user_id not in b.world.users or not _reaches_user(b, user_id):
        raise invalid_arguments("invalid `user_id`")
    definition = validate_view(_view_arg(args), kind="home", strict=b.strict_blocks)
    return {"view": copy.deepcopy(b.views.publish(user_id, definition, args.get("hash"), _owner(b, user_id)))}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "conversations.replies": conversations_replies,
    "files.completeUploadExternal": files_complete_upload_external,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "reactions.add": reactions_add,
    "team.info": team_info,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "views.open": views_open,
    "views.publish": views_publish,
    "views.push": views_push,
    "views.update": views_update,
}

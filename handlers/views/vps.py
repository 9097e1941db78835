"""Server modal submissions: create (field errors in the ack, then progress in the modal) and delete
(the label must be typed; a mismatch is a field error). Each form is bound to what it was opened
for (the create form to its organisation, the delete form to its server): the gate re-checks the
role there at submit time, and the form acts there, whichever organisation is active by then."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.linode.errors import LinodeError, LinodeFailure
from bot.rendering import vps as render
from bot.services import vps_actions, vps_create
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from bot.slack.modals import update_modal
from handlers.acting import Interactions, Need
from handlers.commands.vps import fill_create_modal, require_linode


def _bound(body: dict[str, Any], key: str, kind: TargetKind) -> Target:
    return Target.parse(kind, render.read_metadata(str(body["view"].get("private_metadata") or "")).get(key))


def create_form_scope(body: dict[str, Any]) -> Target:
    return _bound(body, "organization_id", TargetKind.ORGANIZATION)


def delete_form_scope(body: dict[str, Any]) -> Target:
    return _bound(body, "server_id", TargetKind.SERVER)


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    @on.view(render.CREATE_CALLBACK_ID, Need(action=Action.MANAGE_SERVERS, scope=create_form_scope))
    async def submit_create(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
    ) -> None:
        meta = render.read_metadata(str(view.get("private_metadata") or ""))
        try:
            require_linode(services)
            submitted = render.parse_create_submission(view["state"]["values"])
            request = vps_create.validate_request(submitted)
            key = f"{actor.slack.team_id}:{actor.slack.user_id}:{view['id']}:{request.label}"
            pending = await vps_create.begin_create(
                services.engine, require_linode(services), services.settings, actor, request, request_key=key
            )
        except vps_create.FieldErrors as bad:
            await ack(response_action="errors", errors=render.field_errors(bad.errors))
            return
        except UserError as refusal:
            await ack(response_action="errors", errors=render.field_errors({"label": refusal.message}))
            return
        await ack(response_action="update", view=render.create_progress_view(pending.label, "provisioning"))
        if pending.repeated:
            return
        await _provision(services, client, actor, pending, view_id=str(view["id"]), meta=meta, submitted=submitted)

    @on.view(render.DELETE_CALLBACK_ID, Need(action=Action.MANAGE_SERVERS, scope=delete_form_scope))
    async def submit_delete(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
    ) -> None:
        meta = render.read_metadata(str(view.get("private_metadata") or ""))
        typed = render.submitted_confirmation(view["state"]["values"])
        try:
            server_id = uuid.UUID(str(meta.get("server_id")))
            await vps_actions.check_delete_confirmation(services.engine, actor, server_id, typed)
        except vps_create.FieldErrors as bad:
            await ack(response_action="errors", errors=render.field_errors(bad.errors))
            return
        except (UserError, ValueError) as refusal:
            message = refusal.message if isinstance(refusal, UserError) else "That server is no longer available."
            await ack(response_action="errors", errors=render.field_errors({"confirm": message}))
            return
        await ack(response_action="update", view=render.message_modal("Delete server", f"Deleting {typed}…"))
        try:
            deleted = await vps_actions.delete(
                services.engine, require_linode(services), services.settings, actor, server_id,
                typed=typed, channel_id=meta.get("channel_id"), now=services.clock(),
            )  # fmt: skip
        except (UserError, LinodeError) as failure:
            await update_modal(client, view["id"], render.message_modal("Delete server", failure.message))
            return
        view_done = render.deleted_view(deleted.label, deleted.final_charge, deleted.final_hours)
        await update_modal(client, view["id"], view_done)


async def _provision(
    services: Services,
    client: AsyncWebClient,
    actor: Actor,
    pending: vps_create.Pending,
    *,
    view_id: str,
    meta: dict[str, Any],
    submitted: dict[str, Any],
) -> None:
    """Create at Linode with progress in the modal; a refused field brings the form back as it was
    submitted, with Linode's words under that field."""

    async def report(status: str) -> None:
        await update_modal(client, view_id, render.create_progress_view(pending.label, status))

    try:
        server = await vps_create.provision(
            services.engine, require_linode(services), services.settings, actor, pending,
            report=report, channel_id=meta.get("channel_id"),
        )  # fmt: skip
    except LinodeError as failure:
        field = render.LINODE_FIELDS.get((failure.field or "").split(".")[0])
        if failure.category is LinodeFailure.VALIDATION and field is not None:
            metadata = render.create_metadata(meta.get("channel_id"), meta.get("response_url"))
            await fill_create_modal(
                services, client, actor, view_id, metadata, errors={field: failure.message}, values=submitted
            )
            return
        message = failure.message
        if failure.transient:
            message += " If the server appears at Linode, it will show up in /cs vps within a few minutes."
        await update_modal(client, view_id, render.message_modal("Create a server", message))
        return
    except UserError as refusal:
        await update_modal(client, view_id, render.message_modal("Create a server", refusal.message))
        return
    done = render.create_progress_view(server.label, server.status, done=True, ip=server.ip_address)
    await update_modal(client, view_id, done)

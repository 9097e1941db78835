"""Forms of the server page: snapshot now (a name), backup schedule (day, window), restore (the label
typed; a mismatch is a field error) and hostname. Each form is bound to its server; the gate re-checks
the role there at submit, then the form shows progress until Linode is done."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.rendering import server_page as render
from bot.rendering import vps as vps_render
from bot.rendering.escape import Mrkdwn, escape_mrkdwn
from bot.services import arrears, server_backups, server_network, server_page
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from bot.services.vps_create import FieldErrors
from bot.slack.modals import update_modal
from handlers.acting import Interactions, Need

TITLES = {render.SNAPSHOT_CALLBACK_ID: "Snapshot now", render.SCHEDULE_CALLBACK_ID: "Backup schedule",
          render.RESTORE_CALLBACK_ID: "Restore backup", render.HOSTNAME_CALLBACK_ID: "Hostname"}  # fmt: skip


def form_scope(body: dict[str, Any]) -> Target:
    meta = vps_render.read_metadata(str(body["view"].get("private_metadata") or ""))
    return Target.parse(TargetKind.SERVER, meta.get("server_id"))


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)
    need = Need(action=Action.MANAGE_SERVERS, scope=form_scope)

    for callback_id in TITLES:

        @on.view(callback_id, need)
        async def submit(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
        ) -> None:
            await _submitted(services, ack, client, view, actor)


async def _submitted(services: Services, ack: AsyncAck, client: AsyncWebClient, view: dict[str, Any],
                     actor: Actor) -> None:  # fmt: skip
    callback, values = view["callback_id"], view["state"]["values"]
    meta = vps_render.read_metadata(str(view.get("private_metadata") or ""))
    title = TITLES[callback]
    engine, settings = services.engine, services.settings
    channel = meta.get("channel_id")
    try:
        gateway = server_page.require_linode(services.linode)
        server_id = uuid.UUID(str(meta.get("server_id")))
        if callback == render.SNAPSHOT_CALLBACK_ID:
            name = server_backups.check_snapshot_label(render.submitted(values, "name"))
        elif callback == render.SCHEDULE_CALLBACK_ID:
            day, window = render.submitted(values, "day") or "auto", render.submitted(values, "window") or "auto"
            server_backups.parse_schedule(day, window)
        elif callback == render.RESTORE_CALLBACK_ID:
            backup_id = int(meta.get("backup_id") or 0)
            typed = render.submitted(values, "confirm")
            await server_backups.check_restore(engine, gateway, settings, actor, server_id, backup_id=backup_id,
                                               typed=typed)  # fmt: skip
        else:
            hostname = server_network.check_hostname(render.submitted(values, "hostname"))
    except FieldErrors as bad:
        await ack(response_action="errors", errors=render.field_errors(bad.errors))
        return
    except (UserError, LinodeError, ValueError) as refusal:
        message = refusal.message if isinstance(refusal, UserError | LinodeError) else "That form is no longer valid."
        field = {render.SNAPSHOT_CALLBACK_ID: "name", render.HOSTNAME_CALLBACK_ID: "hostname",
                 render.SCHEDULE_CALLBACK_ID: "day"}.get(callback, "confirm")  # fmt: skip
        await ack(response_action="errors", errors=render.field_errors({field: message}))
        return
    await ack(response_action="update", view=render.progress_modal(title, Mrkdwn(":hourglass_flowing_sand: Working…")))
    view_id = str(view["id"])

    async def report(status: str) -> None:
        await update_modal(client, view_id, render.progress_modal(title, Mrkdwn(
            f":hourglass_flowing_sand: Linode says: {escape_mrkdwn(status)}")))  # fmt: skip

    try:
        if callback == render.SNAPSHOT_CALLBACK_ID:
            status = await server_backups.snapshot(engine, gateway, settings, actor, server_id, name=name,
                                                   report=report, channel_id=channel)  # fmt: skip
            said = f"Snapshot “{escape_mrkdwn(name)}” ended *{escape_mrkdwn(status)}*."
        elif callback == render.SCHEDULE_CALLBACK_ID:
            label, chosen_day, chosen_window = await server_backups.schedule(
                engine, gateway, settings, actor, server_id, day=day, window=window, channel_id=channel
            )
            said = (f"Backups of *{escape_mrkdwn(label)}* run {escape_mrkdwn(chosen_day or 'on a day Linode chooses')}"
                    f", {render.window_text(chosen_window)}.")  # fmt: skip
        elif callback == render.RESTORE_CALLBACK_ID:
            final = await server_backups.restore(engine, gateway, settings, actor, server_id, backup_id=backup_id,
                                                 typed=typed, report=report, channel_id=channel)  # fmt: skip
            said = f"Backup `{backup_id}` was restored; the server is *{escape_mrkdwn(final)}*. Start it when ready."
        else:
            old, new = await server_network.set_hostname(engine, gateway, settings, actor, server_id,
                                                         hostname=hostname, channel_id=channel)  # fmt: skip
            said = f"*{escape_mrkdwn(old)}* is now called *{escape_mrkdwn(new)}*."
    except arrears.OrganisationOwes as owes:
        await update_modal(client, view_id, render.note_modal(title, owes.message))
        return
    except (UserError, LinodeError) as failure:
        await update_modal(client, view_id, render.note_modal(title, failure.message))
        return
    await update_modal(client, view_id, render.progress_modal(title, Mrkdwn(f":white_check_mark: {said}")))

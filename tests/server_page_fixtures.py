"""Helpers for the server page tests: a Linode emulator whose statistics are ready at once, the files
the bot shared, the activity it wrote, and samples of the page's controls for the gate sweep."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.emulators.linode import LinodeEmulator
from bot.emulators.slack import SlackEmulator
from bot.emulators.slack.files import StoredFile
from bot.rendering import server_page as page_render
from tests.vps_fixtures import VpsWorld, rows, until


@pytest.fixture(name="linode")
async def quick_linode_fixture() -> AsyncIterator[LinodeEmulator]:
    """Transitions of a few tenths of a second; statistics available a moment after creation."""
    emulator = LinodeEmulator(provision_seconds=0.2, boot_seconds=0.2, shutdown_seconds=0.2, reboot_seconds=0.2,
                              rebuild_seconds=0.2, resize_seconds=0.2, backup_seconds=0.3, restore_seconds=0.3,
                              stats_delay_seconds=0.0)  # fmt: skip
    await emulator.start()
    yield emulator
    await emulator.stop()


async def shared_file(slack: SlackEmulator, channel: str, name_part: str, *, timeout: float = 30.0) -> StoredFile:
    """The file the bot shared in ``channel`` (a DM is ``D`` + the user id's tail) whose name contains ``name_part``."""

    async def check() -> StoredFile | None:
        return next((f for f in slack.files(channel) if name_part in f.filename), None)

    return await until(check, timeout=timeout, what=f"a file {name_part!r} in {channel}")


def dm_of(slack_user: str) -> str:
    return "D" + slack_user[1:]


async def activity_rows(world: VpsWorld, server_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    return await rows(
        world.engine,
        "SELECT * FROM activity_logs WHERE entity_id = :e AND event_type = :t ORDER BY created_at",
        e=str(server_id), t=event_type,
    )  # fmt: skip


def flat(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False)


def page_action_samples(server: str) -> dict[str, dict[str, Any]]:
    """A realistic click on each of the page's controls (for the interaction-gate sweep)."""
    samples: dict[str, dict[str, Any]] = {i: {"value": server} for i in page_render.VIEW_ACTION_IDS}
    for action_id in page_render.MANAGE_ACTION_IDS:
        samples[action_id] = {"value": server}
    samples[page_render.RESTORE_OPEN_ACTION_ID] = {"type": "static_select",
                                                   "selected_option": {"value": f"{server}|80000001"}}  # fmt: skip
    samples[page_render.FIREWALL_ATTACH_ACTION_ID] = {"value": f"{server}|9100001"}
    samples[page_render.FIREWALL_DETACH_ACTION_ID] = {"value": f"{server}|9100001"}
    return samples


def page_view_samples(server_id: uuid.UUID, label: str) -> dict[str, dict[str, Any]]:
    return {
        page_render.SNAPSHOT_CALLBACK_ID: page_render.snapshot_modal(server_id, label),
        page_render.SCHEDULE_CALLBACK_ID: page_render.schedule_modal(server_id, label),
        page_render.RESTORE_CALLBACK_ID: page_render.restore_modal(server_id, label, 80000001, None),
        page_render.HOSTNAME_CALLBACK_ID: page_render.hostname_modal(server_id, label),
    }

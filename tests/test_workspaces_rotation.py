"""Token rotation in distributed mode: a token near its expiry is refreshed once even when two
replicas find it due at the same moment; the one that waited uses the winner's token (issue 19)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import HTTP_SESSION, SETTINGS
from bot.slack.client import interactive_client
from bot.slack.workspaces import installations_from
from tests.workspace_fixtures import Workspaces, team_id, workspaces_fixture  # noqa: F401 - fixture


@pytest.mark.parametrize("workspaces", [{"token_rotation": True}], indirect=True)
async def test_two_replicas_refreshing_at_once_spend_the_refresh_token_once(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    ws = workspaces
    team = team_id()
    ws.slack.add_workspace(team, "Rotating")
    user = "U" + team[1:]
    ws.slack.add_user(user, name="rotating-admin", team_id=team)
    ws.slack.token_lifetime_seconds = 60  # already inside the refresh window (SLACK_TOKEN_ROTATION_MINUTES)
    await ws.install(team, user)
    ws.slack.token_lifetime_seconds = 43200  # refreshed tokens are long-lived: one refresh is enough
    old = await ws.installations.bot_for(None, team)  # this replica refreshes on first use
    assert old is not None
    replicas = [installations_from(ws.app[SETTINGS], engine, ws.app[HTTP_SESSION], cache_seconds=0.0) for _ in range(2)]
    async with engine.begin() as conn:  # make it due again for both replicas at once
        await conn.execute(
            text(
                "UPDATE bot_slack_installations SET bot_token_expires_at = now() + interval '1 minute' "
                "WHERE team_id = :t"
            ),
            {"t": team},
        )
    refreshes_before = len([c for c in ws.slack.calls_to("oauth.v2.access") if c.args.get("grant_type")])
    first, second = await asyncio.gather(*(replica.bot_for(None, team) for replica in replicas))
    assert first is not None and second is not None
    assert first.bot_token == second.bot_token != old.bot_token
    refreshes = [c for c in ws.slack.calls_to("oauth.v2.access") if c.args.get("grant_type")][refreshes_before:]
    assert len(refreshes) == 1 and all(c.ok for c in ws.slack.calls_to("oauth.v2.access"))
    answer = await interactive_client(first.bot_token, ws.slack.api_url).auth_test()
    assert answer["team_id"] == team

"""Many workspaces and OAuth in the Slack emulator, driven by the real slack-sdk clients and helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulators.slack import ConsentError, SlackEmulator, SlackRequestFactory
from tests.emulators.test_slack_emulator import FakeClock

DEFAULT_TOKEN = "xoxb-test-token"
SECRET = "app-client-secret"
SIGNING = "workspace-signing-secret"
REDIRECT = "https://bot.example/slack/oauth_redirect"
ACME, ACME_ADMIN, ACME_GENERAL = "T0ACME", "U0ACMEADM", "C0ACMEGEN"
GRID, NORTH, SOUTH = "E0GRID", "T0NORTH", "T0SOUTH"
SCOPES = ["chat:write", "commands", "users:read"]
# slack-sdk's oauth_v2_access sends the client credentials with aiohttp's BasicAuth, which aiohttp
# now deprecates; the warning is the SDK's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def em(clock: FakeClock) -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(clock=clock, client_secret=SECRET, redirect_urls=[REDIRECT]) as emulator:
        emulator.add_user("U0HOME", name="homer")
        emulator.add_workspace(ACME, "Acme Corp", domain="acme")
        emulator.add_user(ACME_ADMIN, name="wile", team_id=ACME)
        emulator.add_enterprise(GRID, "Big Grid")
        emulator.add_workspace(NORTH, "North", enterprise_id=GRID)
        emulator.add_workspace(SOUTH, "South", enterprise_id=GRID)
        emulator.add_user("W0NORTHU", name="nora", team_id=NORTH)
        emulator.add_user("W0SOUTHU", name="sam", team_id=SOUTH)
        yield emulator


@pytest.fixture
async def api(em: SlackEmulator) -> AsyncIterator[AsyncWebClient]:
    """A token-less client for oauth.v2.access, as an app's install handler has."""
    yield AsyncWebClient(base_url=em.api_url, retry_handlers=[])


def authorize_url(em: SlackEmulator, *, redirect_uri: str | None = REDIRECT, **extra: str) -> str:
    generator = AuthorizeUrlGenerator(
        client_id=em.client_id, redirect_uri=redirect_uri, scopes=SCOPES, authorization_url=em.authorize_url
    )
    url = generator.generate(state="st-123")
    return url + "".join(f"&{k}={v}" for k, v in extra.items())


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def install(
    em: SlackEmulator, api: AsyncWebClient, team_id: str, user_id: str, *, enterprise: bool = False
) -> dict[str, Any]:
    redirect = em.approve_install(authorize_url(em), team_id=team_id, user_id=user_id, enterprise_install=enterprise)
    response = await api.oauth_v2_access(
        client_id=em.client_id, client_secret=SECRET, code=query_of(redirect)["code"], redirect_uri=REDIRECT
    )
    return response.data  # type: ignore[return-value]


def client_for(em: SlackEmulator, token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=em.api_url, retry_handlers=[])


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


# --- installing -------------------------------------------------------------------------------------


async def test_an_approved_install_redirects_with_code_and_state_and_exchanges_for_a_workspace_token(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    redirect = em.approve_install(authorize_url(em), team_id=ACME, user_id=ACME_ADMIN)
    assert redirect.startswith(REDIRECT + "?") and query_of(redirect)["state"] == "st-123"
    answer = await api.oauth_v2_access(
        client_id=em.client_id, client_secret=SECRET, code=query_of(redirect)["code"], redirect_uri=REDIRECT
    )
    assert answer["token_type"] == "bot" and answer["access_token"].startswith("xoxb-")
    assert answer["access_token"] != DEFAULT_TOKEN and answer["bot_user_id"] != em.identity.bot_user_id
    assert answer["team"] == {"id": ACME, "name": "Acme Corp"} and answer["enterprise"] is None
    assert answer["is_enterprise_install"] is False and answer["authed_user"] == {"id": ACME_ADMIN}
    assert answer["scope"] == ",".join(SCOPES) and answer["app_id"] == em.identity.app_id
    assert "refresh_token" not in answer.data and "expires_in" not in answer.data

    acme = client_for(em, answer["access_token"])
    who = await acme.auth_test()
    assert (who["team_id"], who["user_id"], who["url"]) == (ACME, answer["bot_user_id"], "https://acme.slack.com/")
    assert who.headers["x-oauth-scopes"] == ",".join(SCOPES)
    bot = (await acme.users_info(user=answer["bot_user_id"]))["user"]
    assert bot["is_bot"] and bot["team_id"] == ACME
    posted = await acme.chat_postMessage(channel=ACME_GENERAL, text="hello acme")
    assert posted["message"]["user"] == answer["bot_user_id"] and posted["message"]["team"] == ACME
    assert [c.method for c in em.calls_for_team(ACME)] == ["auth.test", "users.info", "chat.postMessage"]
    assert em.calls_to("oauth.v2.access")[0].ok and "client_secret" not in em.calls_to("oauth.v2.access")[0].args


async def test_a_code_is_exchanged_once_and_only_within_ten_minutes(
    em: SlackEmulator, api: AsyncWebClient, clock: FakeClock
) -> None:
    code = query_of(em.approve_install(authorize_url(em), team_id=ACME, user_id=ACME_ADMIN))["code"]
    exchange = {"client_id": em.client_id, "client_secret": SECRET, "redirect_uri": REDIRECT}
    await api.oauth_v2_access(code=code, **exchange)
    assert await error_of(api.oauth_v2_access(code=code, **exchange)) == "invalid_code"
    late = query_of(em.approve_install(authorize_url(em), team_id=ACME, user_id=ACME_ADMIN))["code"]
    clock.now += 601
    assert await error_of(api.oauth_v2_access(code=late, **exchange)) == "invalid_code"
    assert await error_of(api.oauth_v2_access(code="made-up", **exchange)) == "invalid_code"


async def test_the_redirect_uri_must_be_registered_and_the_exchange_must_repeat_it(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    with pytest.raises(ConsentError, match="bad_redirect_uri"):
        em.approve_install(authorize_url(em, redirect_uri="https://evil.example/cb"), team_id=ACME, user_id=ACME_ADMIN)
    code = query_of(em.approve_install(authorize_url(em), team_id=ACME, user_id=ACME_ADMIN))["code"]
    wrong = api.oauth_v2_access(
        client_id=em.client_id, client_secret=SECRET, code=code, redirect_uri=REDIRECT + "/other"
    )
    assert await error_of(wrong) == "bad_redirect_uri"
    missing = api.oauth_v2_access(client_id=em.client_id, client_secret=SECRET, code=code)
    assert await error_of(missing) == "bad_redirect_uri"
    # No redirect_uri in the authorize request: the registered one is used and none is needed later.
    bare = query_of(em.approve_install(authorize_url(em, redirect_uri=None), team_id=ACME, user_id=ACME_ADMIN))
    assert (await api.oauth_v2_access(client_id=em.client_id, client_secret=SECRET, code=bare["code"]))["ok"]


async def test_client_credentials_are_checked_by_basic_auth_and_as_form_fields(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    code = query_of(em.approve_install(authorize_url(em), team_id=ACME, user_id=ACME_ADMIN))["code"]
    bad_secret = api.oauth_v2_access(client_id=em.client_id, client_secret="nope", code=code, redirect_uri=REDIRECT)
    assert await error_of(bad_secret) == "bad_client_secret"
    unknown = api.oauth_v2_access(client_id="999.999", client_secret=SECRET, code=code, redirect_uri=REDIRECT)
    assert await error_of(unknown) == "invalid_client_id"
    form = {"client_id": em.client_id, "client_secret": SECRET, "code": code, "redirect_uri": REDIRECT}
    async with aiohttp.ClientSession() as session, session.post(em.api_url + "oauth.v2.access", data=form) as resp:
        answer = await resp.json()
    assert answer["ok"] and answer["team"]["id"] == ACME  # the failed attempts did not spend the code


async def test_the_consent_screen_over_http_redirects_with_a_code_or_access_denied(em: SlackEmulator) -> None:
    url = authorize_url(em)
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as page:
            assert page.status == 200 and "wile" in await page.text()
        async with session.get(url + f"&as_user={ACME_ADMIN}&as_team={ACME}", allow_redirects=False) as allowed:
            assert allowed.status == 302 and query_of(allowed.headers["Location"])["state"] == "st-123"
            assert allowed.headers["Location"].startswith(REDIRECT) and "code" in query_of(allowed.headers["Location"])
        async with session.get(url + "&deny=1", allow_redirects=False) as denied:
            assert denied.status == 302 and query_of(denied.headers["Location"])["error"] == "access_denied"
        unknown_client = url.replace(f"client_id={em.client_id}", "client_id=1.2")
        async with session.get(unknown_client, allow_redirects=False) as refused:
            assert refused.status == 400 and "invalid_client_id" in await refused.text()
    assert query_of(em.deny_install(url)) == {"error": "access_denied", "state": "st-123"}


async def test_reinstalling_issues_a_new_token_for_the_same_bot_user_and_the_old_one_keeps_working(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    first = await install(em, api, ACME, ACME_ADMIN)
    second = await install(em, api, ACME, ACME_ADMIN)
    assert first["access_token"] != second["access_token"] and first["bot_user_id"] == second["bot_user_id"]
    for token in (first["access_token"], second["access_token"]):
        assert (await client_for(em, token).auth_test())["team_id"] == ACME


# --- tokens bound to their install ------------------------------------------------------------------


async def test_a_token_never_reaches_another_workspace(em: SlackEmulator, api: AsyncWebClient) -> None:
    acme = client_for(em, (await install(em, api, ACME, ACME_ADMIN))["access_token"])
    home = client_for(em, DEFAULT_TOKEN)
    assert await error_of(acme.chat_postMessage(channel="C0GENERAL", text="x")) == "channel_not_found"
    assert await error_of(home.chat_postMessage(channel=ACME_GENERAL, text="x")) == "channel_not_found"
    assert await error_of(acme.users_info(user="U0HOME")) == "user_not_found"
    assert await error_of(home.users_info(user=ACME_ADMIN)) == "user_not_found"
    assert await error_of(acme.conversations_open(users="U0HOME")) == "user_not_found"
    assert await error_of(home.users_lookupByEmail(email="nobody@acme.example")) == "users_not_found"
    em.add_channel("C0HOMEPRIV", name="ops", is_private=True)
    assert await error_of(acme.conversations_info(channel="C0HOMEPRIV")) == "channel_not_found"
    assert em.channel_messages("C0GENERAL") == [] and em.channel_messages(ACME_GENERAL) == []
    assert {c.team_id for c in em.calls_to("chat.postMessage")} == {ACME, em.identity.team_id}
    by_name = await acme.chat_postMessage(channel="#general", text="ours")  # a name means its own workspace's
    assert by_name["channel"] == ACME_GENERAL and em.channel_messages("C0GENERAL") == []


async def test_unknown_and_revoked_tokens_are_refused_and_revoking_reports_tokens_revoked(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    answer = await install(em, api, ACME, ACME_ADMIN)
    assert await error_of(client_for(em, "xoxb-never-issued").auth_test()) == "invalid_auth"
    em.revoke(answer["access_token"])
    assert await error_of(client_for(em, answer["access_token"]).auth_test()) == "token_revoked"
    assert (await client_for(em, DEFAULT_TOKEN).auth_test())["ok"]  # other installs are untouched
    deliveries = await em.deliveries_done()
    assert [(d.event_type, d.payload["event"]["tokens"]) for d in deliveries] == [
        ("tokens_revoked", {"bot": [answer["bot_user_id"]]})
    ]
    assert deliveries[0].status == 0  # no event URL configured: recorded, not sent


async def test_token_rotation_refreshes_once_per_refresh_token_and_expires_access_tokens(
    em: SlackEmulator, api: AsyncWebClient, clock: FakeClock
) -> None:
    em.token_rotation = True
    em.token_lifetime_seconds = 3600
    first = await install(em, api, ACME, ACME_ADMIN)
    assert first["access_token"].startswith("xoxe.xoxb-") and first["refresh_token"].startswith("xoxe-1-")
    assert first["expires_in"] == 3600
    refresh = {"client_id": em.client_id, "client_secret": SECRET, "grant_type": "refresh_token"}
    clock.now += 3000
    second = await api.oauth_v2_access(refresh_token=first["refresh_token"], **refresh)
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert (second["token_type"], second["team"]["id"], second["bot_user_id"]) == ("bot", ACME, first["bot_user_id"])
    reused = api.oauth_v2_access(refresh_token=first["refresh_token"], **refresh)
    assert await error_of(reused) == "invalid_refresh_token"
    assert (await client_for(em, first["access_token"]).auth_test())["ok"]  # valid until it expires
    clock.now += 601
    assert await error_of(client_for(em, first["access_token"]).auth_test()) == "token_expired"
    assert (await client_for(em, second["access_token"]).auth_test())["team_id"] == ACME
    unknown = api.oauth_v2_access(refresh_token="xoxe-1-made-up", **refresh)
    assert await error_of(unknown) == "invalid_refresh_token"


# --- Enterprise Grid ----------------------------------------------------------------------------------


async def test_an_org_wide_install_reaches_every_workspace_of_its_org_and_no_other(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    answer = await install(em, api, NORTH, "W0NORTHU", enterprise=True)
    assert answer["team"] is None and answer["enterprise"] == {"id": GRID, "name": "Big Grid"}
    assert answer["is_enterprise_install"] is True and answer["bot_user_id"].startswith("W")
    org = client_for(em, answer["access_token"])
    who = await org.auth_test()
    assert (who["enterprise_id"], who["is_enterprise_install"], who["team_id"]) == (GRID, True, GRID)
    for team, general in ((NORTH, "C0NORTHGEN"), (SOUTH, "C0SOUTHGEN")):
        posted = await org.chat_postMessage(channel=general, text=f"hello {team}")
        assert posted["message"]["team"] == team and posted["message"]["user"] == answer["bot_user_id"]
        assert [c.method for c in em.calls_for_team(team)] == ["chat.postMessage"]
    assert (await org.users_info(user="W0SOUTHU"))["user"]["team_id"] == SOUTH
    assert (await org.team_info(team=SOUTH))["team"]["enterprise_id"] == GRID
    assert await error_of(org.chat_postMessage(channel="C0GENERAL", text="x")) == "channel_not_found"
    assert await error_of(org.users_info(user=ACME_ADMIN)) == "user_not_found"
    assert await error_of(org.team_info(team=ACME)) == "team_not_found"


# --- uninstalling ----------------------------------------------------------------------------------------


@pytest.fixture
async def event_sink() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny app endpoint that records what reaches its Events API URL."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def events(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/slack/events", received
    await runner.cleanup()


async def test_apps_uninstall_revokes_the_install_and_delivers_signed_events(
    em: SlackEmulator, api: AsyncWebClient, clock: FakeClock, event_sink: tuple[str, list[Any]]
) -> None:
    url, received = event_sink
    em.event_url, em.signing_secret = url, SIGNING
    first, second = await install(em, api, ACME, ACME_ADMIN), await install(em, api, ACME, ACME_ADMIN)
    acme = client_for(em, second["access_token"])
    assert await error_of(acme.apps_uninstall(client_id=em.client_id, client_secret="nope")) == "bad_client_secret"
    assert (await acme.apps_uninstall(client_id=em.client_id, client_secret=SECRET))["ok"]
    for token in (first["access_token"], second["access_token"]):
        assert await error_of(client_for(em, token).auth_test()) == "token_revoked"
    assert (await client_for(em, DEFAULT_TOKEN).auth_test())["ok"]

    deliveries = await em.deliveries_done()
    assert {d.status for d in deliveries} == {200} and len(received) == len(deliveries) == 4
    verifier = SignatureVerifier(SIGNING, clock=_SdkClock(clock))
    bodies = []
    for headers, body in received:
        assert verifier.is_valid_request(body, headers)
        bodies.append(json.loads(body))
    kinds = sorted(b["event"]["type"] for b in bodies)
    assert kinds == ["app_uninstalled", "app_uninstalled", "tokens_revoked", "tokens_revoked"]
    for body in bodies:
        assert body["type"] == "event_callback" and body["team_id"] == ACME and body["api_app_id"]
        assert body["authorizations"][0]["user_id"] == first["bot_user_id"]
        if body["event"]["type"] == "tokens_revoked":
            assert body["event"]["tokens"] == {"bot": [first["bot_user_id"]]}


async def test_removing_an_org_wide_install_revokes_its_token_in_every_workspace(
    em: SlackEmulator, api: AsyncWebClient, event_sink: tuple[str, list[Any]]
) -> None:
    em.event_url, em.signing_secret = event_sink[0], SIGNING
    answer = await install(em, api, SOUTH, "W0SOUTHU", enterprise=True)
    em.uninstall(enterprise_id=GRID)
    assert await error_of(client_for(em, answer["access_token"]).auth_test()) == "token_revoked"
    deliveries = await em.deliveries_done()
    assert sorted(d.event_type for d in deliveries) == ["app_uninstalled", "tokens_revoked"]
    for delivery in deliveries:
        assert delivery.enterprise_id == GRID and delivery.status == 200
        assert delivery.payload["authorizations"][0]["is_enterprise_install"] is True


class _SdkClock:
    """slack-sdk's verifier clock, following the emulator's fake one."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock()


# --- signed requests from many workspaces ------------------------------------------------------------


async def test_requests_carry_the_acting_users_own_team_enterprise_and_install(
    em: SlackEmulator, api: AsyncWebClient, clock: FakeClock
) -> None:
    acme = await install(em, api, ACME, ACME_ADMIN)
    await install(em, api, NORTH, "W0NORTHU", enterprise=True)
    factory = SlackRequestFactory(SIGNING, emulator=em, clock=clock)
    command = factory.slash_command(ACME_ADMIN, "help", channel_id=ACME_GENERAL).payload()
    assert (command["team_id"], command["team_domain"], command["is_enterprise_install"]) == (ACME, "acme", "false")
    home = factory.slash_command("U0HOME", "help").payload()
    assert home["team_id"] == em.identity.team_id and "enterprise_id" not in home
    grid = factory.slash_command("W0NORTHU", "help").payload()
    assert (grid["team_id"], grid["enterprise_id"], grid["is_enterprise_install"]) == (NORTH, GRID, "true")
    click = factory.block_actions("W0SOUTHU", [{"action_id": "a", "value": "1"}]).payload()
    assert click["team"] == {"id": SOUTH, "domain": "south", "enterprise_id": GRID, "enterprise_name": "Big Grid"}
    assert click["user"]["team_id"] == SOUTH and click["is_enterprise_install"] is True
    assert click["enterprise"] == {"id": GRID, "name": "Big Grid"}
    mention = factory.app_mention(ACME_ADMIN, ACME_GENERAL, "hi").payload()
    assert mention["team_id"] == ACME and mention["event"]["text"].startswith(f"<@{acme['bot_user_id']}>")
    assert mention["authorizations"] == [
        {"enterprise_id": None, "team_id": ACME, "user_id": acme["bot_user_id"], "is_bot": True,
         "is_enterprise_install": False}
    ]  # fmt: skip


async def test_an_event_from_a_slack_connect_guest_names_their_team_and_goes_to_the_host(
    em: SlackEmulator, clock: FakeClock
) -> None:
    em.add_channel("C0SHARED", name="acme-support", members=["U0HOME", ACME_ADMIN])
    em.share_channel("C0SHARED", ACME)
    factory = SlackRequestFactory(SIGNING, emulator=em, clock=clock)
    envelope = factory.message_event(ACME_ADMIN, "C0SHARED", "our server is down").payload()
    assert envelope["team_id"] == em.identity.team_id and envelope["is_ext_shared_channel"] is True
    event = envelope["event"]
    assert (event["team"], event["user_team"], event["source_team"]) == (ACME, ACME, ACME)
    assert envelope["authorizations"][0]["team_id"] == em.identity.team_id
    assert em.channel("C0SHARED")["is_ext_shared"] is True
    # The host's token may look up the guest it shares a channel with.
    home = client_for(em, DEFAULT_TOKEN)
    assert (await home.users_info(user=ACME_ADMIN))["user"]["team_id"] == ACME
    own = factory.message_event("U0HOME", "C0SHARED", "looking").payload()
    assert own["event"]["team"] == em.identity.team_id and "user_team" not in own["event"]


async def test_response_urls_and_views_belong_to_the_users_workspace_and_its_bot(
    em: SlackEmulator, api: AsyncWebClient, clock: FakeClock
) -> None:
    acme = await install(em, api, ACME, ACME_ADMIN)
    command = SlackRequestFactory(SIGNING, emulator=em, clock=clock).slash_command(ACME_ADMIN, channel_id=ACME_GENERAL)
    fields = command.payload()
    reply = {"response_type": "in_channel", "text": "on it"}
    async with aiohttp.ClientSession() as session, session.post(fields["response_url"], json=reply) as answer:
        assert await answer.text() == "ok"
    assert em.channel_messages(ACME_GENERAL)[-1]["user"] == acme["bot_user_id"]

    section = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Acme"}, "blocks": section}
    ours, theirs = client_for(em, acme["access_token"]), client_for(em, DEFAULT_TOKEN)
    view = (await ours.views_open(trigger_id=fields["trigger_id"], view=modal))["view"]
    assert view["team_id"] == ACME and view["bot_id"] != em.identity.bot_id
    assert await error_of(theirs.views_update(view_id=view["id"], view=modal)) == "not_found"
    assert (await ours.views_update(view_id=view["id"], view=modal))["view"]["id"] == view["id"]
    home = {"type": "home", "blocks": section}
    assert (await ours.views_publish(user_id=ACME_ADMIN, view=home))["view"]["team_id"] == ACME
    assert await error_of(theirs.views_publish(user_id=ACME_ADMIN, view=home)) == "invalid_arguments"


async def test_bolts_oauth_flow_and_the_sdks_token_rotator_work_against_the_emulator(tmp_path: Path) -> None:
    """Bolt's own install step (exchange, then auth.test for the bot id) and slack-sdk's rotator,
    for a bot and a user token; the rotator reads the real clock, so the emulator does too."""
    async with SlackEmulator(client_secret=SECRET, token_rotation=True) as em:
        em.token_lifetime_seconds = 3600
        em.add_workspace(ACME, "Acme Corp", domain="acme")
        em.add_user(ACME_ADMIN, name="wile", team_id=ACME)
        client = AsyncWebClient(base_url=em.api_url, retry_handlers=[])
        settings = AsyncOAuthSettings(
            client_id=em.client_id, client_secret=SECRET, scopes=SCOPES, user_scopes=["search:read"],
            redirect_uri=REDIRECT, installation_store=FileInstallationStore(base_dir=str(tmp_path)),
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path)),
            authorization_url=em.authorize_url,
        )  # fmt: skip
        flow = AsyncOAuthFlow(client=client, settings=settings)
        url = settings.authorize_url_generator.generate(state="st-1")
        code = query_of(em.approve_install(url, team_id=ACME, user_id=ACME_ADMIN))["code"]
        installation = await flow.run_installation(code)
        assert installation is not None and installation.team_id == ACME and installation.bot_id
        assert installation.bot_token and installation.bot_token.startswith("xoxe.xoxb-")
        assert installation.user_token and installation.user_token.startswith("xoxe.xoxp-")
        rotator = AsyncTokenRotator(client_id=em.client_id, client_secret=SECRET, client=client)
        rotated = await rotator.perform_token_rotation(installation=installation, minutes_before_expiration=120)
        assert rotated is not None
        assert rotated.bot_token != installation.bot_token and rotated.user_token != installation.user_token
        assert (await client_for(em, rotated.bot_token or "").auth_test())["user_id"] == installation.bot_user_id
        assert (await client_for(em, rotated.user_token or "").auth_test())["user_id"] == ACME_ADMIN
        with pytest.raises(SlackTokenRotationError):  # the spent refresh tokens are refused
            await rotator.perform_token_rotation(installation=installation, minutes_before_expiration=120)


async def test_an_upload_started_in_one_workspace_cannot_be_completed_from_another(
    em: SlackEmulator, api: AsyncWebClient
) -> None:
    ours = client_for(em, (await install(em, api, ACME, ACME_ADMIN))["access_token"])
    started = await ours.files_getUploadURLExternal(filename="report.txt", length=5)
    async with aiohttp.ClientSession() as session, session.post(started["upload_url"], data=b"hello") as sent:
        assert sent.status == 200
    files = [{"id": started["file_id"], "title": "Report"}]
    theirs = client_for(em, DEFAULT_TOKEN)
    assert await error_of(theirs.files_completeUploadExternal(files=files)) == "file_not_found"
    done = await ours.files_completeUploadExternal(files=files, channel_id=ACME_GENERAL)
    assert done["files"][0]["id"] == started["file_id"] and em.files(ACME_GENERAL)[0].data == b"hello"

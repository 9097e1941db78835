"""The account-link page over real HTTP: the real app, PostgreSQL, the Slack emulator and the outbox.

Every test signs in from its own loopback address (127.x.y.z), so per-IP throttling in one test
never leaks into another that shares the session database.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import bcrypt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import plain_url
from bot.emulators.slack import SlackEmulator
from bot.rendering.pages import SUCCESS_MESSAGE
from bot.services import link_tokens, linking
from bot.services.identity import SlackRef
from bot.services.login_throttle import MAX_EMAIL_FAILURES, MAX_IP_FAILURES
from tests.conftest import BOT_SECRET, TEAM_ID, RunningBot
from tests.factories import UserRecord, add_slack_user, make_org, make_user, many_orgs, new_slack_user_id

BAD_CREDENTIALS = linking.BadCredentials().message


# -- helpers (also used by the command and browser tests) -------------------------------------------


def slack_ref(slack_user_id: str) -> SlackRef:
    return SlackRef(enterprise_id="", team_id=TEAM_ID, user_id=slack_user_id)


async def link_path(engine: AsyncEngine, slack_user_id: str, *, issued: datetime | None = None) -> str:
    """A fresh `/link/<token>` path, issued exactly as `/cs link` issues it."""
    async with engine.begin() as conn:
        token = await link_tokens.issue_token(conn, BOT_SECRET, slack_ref(slack_user_id), issued or datetime.now(UTC))
    return f"/link/{token}"


def fresh_ip() -> str:
    return f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]
    cookie: str | None = None

    @property
    def text(self) -> str:
        return html.unescape(self.body)

    @property
    def csrf(self) -> str:
        match = re.search(r'name="csrf" value="([^"]*)"', self.body)
        assert match, self.body
        return match.group(1)

    @property
    def email_value(self) -> str:
        match = re.search(r'id="email"[^>]* value="([^"]*)"', self.body)
        assert match, self.body
        return html.unescape(match.group(1))

    @property
    def error(self) -> str:
        match = re.search(r'<p class="error"[^>]*>.*?</p>', self.body)
        assert match, self.body
        return match.group(0)


class Browser:
    """A client from one source address that handles the CSRF cookie explicitly."""

    def __init__(self, bot: RunningBot, ip: str | None = None) -> None:
        self.bot = bot
        self.ip = ip or fresh_ip()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(self.ip, 0), force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str) -> Answer:
        async with self.session.get(self.bot.url + path) as response:
            morsel = response.cookies.get(linking.CSRF_COOKIE)
            return Answer(
                response.status, await response.text(), dict(response.headers), morsel.value if morsel else None
            )

    async def post(self, path: str, form: dict[str, str], cookie: str | None, *, confirm: bool = True) -> Answer:
        """Submit the form; like a person, with the confirmation ticked unless `confirm=False`."""
        headers = {"Cookie": f"{linking.CSRF_COOKIE}={cookie}"} if cookie else {}
        data = {**form, "confirm": "yes"} if confirm else form
        async with self.session.post(self.bot.url + path, data=data, headers=headers) as response:
            return Answer(response.status, await response.text(), dict(response.headers))

    async def sign_in(self, path: str, email: str, password: str) -> Answer:
        """Open the page, then submit it, as a person would."""
        page = await self.get(path)
        assert page.status == 200, page.body
        return await self.post(path, {"csrf": page.csrf, "email": email, "password": password}, page.cookie)


@pytest.fixture
async def browser(bot: RunningBot) -> AsyncIterator[Browser]:
    client = Browser(bot)
    yield client
    await client.close()


async def identity_of(engine: AsyncEngine, slack_user_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT user_id, linked_via FROM bot_slack_identities WHERE team_id = :t AND slack_user_id = :s"),
                {"t": TEAM_ID, "s": slack_user_id},
            )
        ).first()
    return None if row is None else dict(row._mapping)


async def link_activities(engine: AsyncEngine, slack_user_id: str, event: str = "slack.link") -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT user_id, entity_type, entity_id, metadata FROM activity_logs "
                "WHERE event_type = :e AND metadata->>'slack_user_id' = :s ORDER BY created_at"
            ),
            {"e": event, "s": slack_user_id},
        )
        return [dict(r._mapping) for r in rows]


async def token_used(engine: AsyncEngine, path: str) -> bool:
    claims = link_tokens.verify_token(BOT_SECRET, path.removeprefix("/link/"), datetime.now(UTC) - timedelta(days=1))
    async with engine.connect() as conn:
        used_at = (
            await conn.execute(text("SELECT used_at FROM bot_link_tokens WHERE nonce = :n"), {"n": claims.nonce})
        ).scalar_one()
    return used_at is not None


async def attempt_row(engine: AsyncEngine, key: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM bot_login_attempts WHERE key = :k"), {"k": key})).first()
    return None if row is None else dict(row._mapping)


async def set_password_hash(engine: AsyncEngine, user: UserRecord, password_hash: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :u"), {"h": password_hash, "u": user.id}
        )


async def new_person(engine: AsyncEngine, slack: SlackEmulator, **user: Any) -> tuple[UserRecord, str]:
    """A ContainerStacks user and a Slack user (in the emulator, with the same email) not yet linked."""
    record = await make_user(engine, **user)
    slack_user_id = new_slack_user_id()
    slack.add_user(slack_user_id, name=record.name.lower().replace(" ", "."), email=record.email)
    return record, slack_user_id


# -- the page ---------------------------------------------------------------------------------------


async def test_link_page_prefills_the_slack_profile_email_and_is_locked_down(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    page = await browser.get(await link_path(engine, slack_user_id))
    assert page.status == 200
    assert page.email_value == user.email
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert "unsafe-inline" not in csp
    set_cookie = page.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{linking.CSRF_COOKIE}=")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/link" in set_cookie
    assert "Secure" not in set_cookie  # PUBLIC_URL is http in tests
    assert '<html lang="en">' in page.body and "<h1>" in page.body
    assert '<label for="email">' in page.body and '<label for="password">' in page.body
    assert "<script" not in page.body and "http://" not in page.body and "https://" not in page.body
    await slack.wait_for("users.info", predicate=lambda c: c.args.get("user") == slack_user_id)


async def test_link_page_leaves_the_email_empty_when_slack_has_none(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    slack_user_id = new_slack_user_id()  # unknown to Slack: users.info answers user_not_found
    page = await browser.get(await link_path(engine, slack_user_id))
    assert page.status == 200
    assert page.email_value == ""


async def test_link_page_prefills_only_the_slack_users_own_confirmed_email(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    victim = await make_user(engine)
    # Someone whose Slack profile claims another person's address, which Slack never confirmed.
    claimant = add_slack_user(slack, name="claimant", email=victim.email, email_confirmed=False)
    # A Slack Connect member from another workspace, and a deactivated account.
    visitor = add_slack_user(slack, name="visitor", email=victim.email, team_id="T0ELSEWHERE")
    gone = add_slack_user(slack, name="gone", email=victim.email, deleted=True)
    for slack_user_id in (claimant, visitor, gone):
        page = await browser.get(await link_path(engine, slack_user_id))
        assert page.status == 200 and page.email_value == "", slack_user_id
        assert victim.email not in page.body
    owner, own_slack_id = await new_person(engine, slack)  # confirmed, their own account, this workspace
    assert (await browser.get(await link_path(engine, own_slack_id))).email_value == owner.email


async def test_link_page_names_the_slack_user_and_workspace_and_needs_an_explicit_confirmation(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack, name="Grace Hopper")
    path = await link_path(engine, slack_user_id)
    page = await browser.get(path)
    assert "You are linking Slack user @grace.hopper in workspace ContainerStacks" in page.text
    assert '<input id="confirm" name="confirm" type="checkbox" value="yes" required>' in page.body
    await slack.wait_for("team.info", predicate=lambda c: c.args.get("team") == TEAM_ID)

    form = {"csrf": page.csrf, "email": user.email, "password": user.password}
    unconfirmed = await browser.post(path, form, page.cookie, confirm=False)
    assert unconfirmed.status == 400
    assert linking.NotConfirmed().message in unconfirmed.text
    assert "Slack user @grace.hopper in workspace ContainerStacks" in unconfirmed.text
    assert await identity_of(engine, slack_user_id) is None and not await token_used(engine, path)
    assert await attempt_row(engine, f"email:{user.email.lower()}") is None  # no password was tried

    linked = await browser.post(path, {**form, "csrf": unconfirmed.csrf}, page.cookie)
    assert linked.status == 200, linked.body
    assert "Slack user @grace.hopper in workspace ContainerStacks now acts as this account" in linked.text


async def test_link_page_still_names_the_slack_user_when_slack_cannot_say_more(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    _, slack_user_id = await new_person(engine, slack)
    slack.fail("team.info", error="missing_scope", extra={"needed": "team:read", "provided": "commands"})
    slack.fail("users.info", error="user_not_visible")
    page = await browser.get(await link_path(engine, slack_user_id))
    assert page.status == 200 and page.email_value == ""
    assert f"You are linking Slack user {slack_user_id} in workspace {TEAM_ID}" in page.text


async def test_linking_notifies_the_panel_account_owner_in_the_panels_notifications(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser, database_url: str
) -> None:
    user, slack_user_id = await new_person(engine, slack, name="Ada Lovelace")
    pushed: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    listener = await asyncpg.connect(plain_url(database_url))
    await listener.add_listener("new_activity", lambda *args: pushed.put_nowait(json.loads(args[-1])))
    try:
        answer = await browser.sign_in(await link_path(engine, slack_user_id), user.email, user.password)
        assert answer.status == 200, answer.body
        # The panel's notify trigger pushes only the event types its notifications show, live.
        notice = await asyncio.wait_for(_next_for(pushed, str(user.id)), timeout=30)
    finally:
        await listener.close()
    assert notice["event_type"] == "auth.login" and notice["entity_type"] == "user"
    assert "Slack user @ada.lovelace in workspace ContainerStacks" in notice["message"]
    # What the panel lists as the owner's unread notifications (its own query): just that notice.
    async with engine.connect() as conn:
        unread = (
            await conn.execute(
                text("SELECT event_type, status, message FROM activity_logs WHERE user_id = :u AND is_read = FALSE"),
                {"u": user.id},
            )
        ).all()
    assert [(row.event_type, row.status) for row in unread] == [("auth.login", "warning")]
    assert "If this was not you, change your password" in unread[0].message
    assert len(await link_activities(engine, slack_user_id)) == 1  # the slack.link audit row, already read


async def _next_for(queue: asyncio.Queue[dict[str, Any]], user_id: str) -> dict[str, Any]:
    while (payload := await queue.get())["user_id"] != user_id:
        pass
    return payload


async def test_correct_password_links_the_slack_user_and_confirms_everywhere(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack, name="Ada <Lovelace>")
    path = await link_path(engine, slack_user_id)
    answer = await browser.sign_in(path, user.email.upper(), user.password)
    assert answer.status == 200, answer.body
    assert SUCCESS_MESSAGE.format(name=user.name, email=user.email) in answer.text
    assert "<Lovelace>" not in answer.body  # escaped
    assert await identity_of(engine, slack_user_id) == {"user_id": user.id, "linked_via": "password"}
    assert await token_used(engine, path)
    [activity] = await link_activities(engine, slack_user_id)
    assert activity["user_id"] == user.id and activity["entity_type"] == "user"
    assert activity["entity_id"] == str(user.id) and activity["metadata"]["method"] == "password"
    await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.args.get("channel") == slack.dm_channel_id(slack_user_id)
    )
    [dm] = slack.dms(slack_user_id)
    assert "now linked to *Ada &lt;Lovelace&gt;*" in dm["text"]
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == slack_user_id)
    assert slack.home_view(slack_user_id) is not None


async def test_wrong_password_and_unknown_email_get_byte_identical_answers(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id)
    wrong_password = await browser.sign_in(path, user.email, "not the password")
    unknown_email = await browser.sign_in(path, f"nobody-{secrets.token_hex(4)}@example.com", user.password)
    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.error == unknown_email.error
    assert html.unescape(wrong_password.error).endswith(f">{BAD_CREDENTIALS}</p>")
    assert wrong_password.email_value == user.email  # kept for the next try
    assert "not the password" not in wrong_password.body and user.password not in unknown_email.body
    assert await identity_of(engine, slack_user_id) is None
    assert not await token_used(engine, path)


async def test_retry_after_a_wrong_password_succeeds_with_the_same_form(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id)
    page = await browser.get(path)
    wrong = await browser.post(path, {"csrf": page.csrf, "email": user.email, "password": "nope"}, page.cookie)
    assert wrong.status == 401
    right = await browser.post(path, {"csrf": wrong.csrf, "email": user.email, "password": user.password}, page.cookie)
    assert right.status == 200
    assert await attempt_row(engine, f"email:{user.email.lower()}") is None  # success clears the email's counter
    ip_row = await attempt_row(engine, f"ip:{browser.ip}")
    assert ip_row is not None and ip_row["failures"] == 1  # only the real failure still counts


async def test_missing_password_re_shows_the_form(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    answer = await browser.sign_in(await link_path(engine, slack_user_id), user.email, "")
    assert answer.status == 400
    assert linking.MissingCredentials().message in answer.text
    assert await attempt_row(engine, f"email:{user.email.lower()}") is None


async def test_an_account_with_a_published_default_password_is_not_linked(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack, password="admin123", role="admin")
    path = await link_path(engine, slack_user_id)
    answer = await browser.sign_in(path, user.email, "admin123")
    assert answer.status == 403
    assert "change this password in the panel first" in answer.error
    assert await identity_of(engine, slack_user_id) is None
    assert not await token_used(engine, path)  # after changing it in the panel, the same link works
    [refused] = await link_activities(engine, slack_user_id, "slack.link_refused")
    assert refused["user_id"] == user.id and refused["metadata"]["reason"] == "default_password"
    assert await link_activities(engine, slack_user_id) == []


# -- throttling -------------------------------------------------------------------------------------


async def test_email_is_locked_after_repeated_failures_and_refused_without_a_password_check(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id)
    for _ in range(MAX_EMAIL_FAILURES):
        assert (await browser.sign_in(path, user.email, "guess")).status == 401
    # A slow hash of the *right* password: answering fast proves no bcrypt check ran.
    slow_hash = await asyncio.to_thread(bcrypt.hashpw, user.password.encode(), bcrypt.gensalt(13))
    started = time.perf_counter()
    await asyncio.to_thread(bcrypt.checkpw, user.password.encode(), slow_hash)
    check_seconds = time.perf_counter() - started
    await set_password_hash(engine, user, slow_hash.decode())
    page = await browser.get(path)
    started = time.perf_counter()
    locked = await browser.post(path, {"csrf": page.csrf, "email": user.email, "password": user.password}, page.cookie)
    elapsed = time.perf_counter() - started
    assert locked.status == 429
    assert "Too many failed attempts. Please wait 15 minutes" in locked.text
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert elapsed < check_seconds / 2
    assert await identity_of(engine, slack_user_id) is None
    # Another client is refused too: the lock is on the email, not the browser.
    other = Browser(bot)
    try:
        assert (await other.sign_in(path, user.email.upper(), user.password)).status == 429
    finally:
        await other.close()


async def test_client_ip_is_locked_after_repeated_failures_across_emails(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id)
    page = await browser.get(path)
    for n in range(MAX_IP_FAILURES):
        form = {"csrf": page.csrf, "email": f"spray{n}-{secrets.token_hex(3)}@example.com", "password": "x"}
        assert (await browser.post(path, form, page.cookie)).status == 401
    form = {"csrf": page.csrf, "email": user.email, "password": user.password}
    locked = await browser.post(path, form, page.cookie)
    assert locked.status == 429
    assert await identity_of(engine, slack_user_id) is None
    elsewhere = Browser(bot)
    try:
        assert (await elsewhere.sign_in(path, user.email, user.password)).status == 200
    finally:
        await elsewhere.close()


# -- tokens -----------------------------------------------------------------------------------------


async def test_expired_link_is_refused_with_410_and_changes_nothing(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id, issued=datetime.now(UTC) - timedelta(minutes=16))
    page = await browser.get(path)
    assert page.status == 410 and page.cookie is None
    assert link_tokens.LinkTokenExpired().message in page.text
    claims = link_tokens.verify_token(BOT_SECRET, path.removeprefix("/link/"), datetime.now(UTC) - timedelta(hours=1))
    cookie = linking.new_csrf_cookie()
    form = {
        "csrf": linking.csrf_token(BOT_SECRET, claims.nonce, cookie),
        "email": user.email,
        "password": user.password,
    }
    answer = await browser.post(path, form, cookie)
    assert answer.status == 410
    assert await identity_of(engine, slack_user_id) is None
    assert not await token_used(engine, path)
    assert await attempt_row(engine, f"email:{user.email.lower()}") is None


async def test_used_link_is_refused_with_410_and_the_link_stays(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    intruder = await make_user(engine)
    path = await link_path(engine, slack_user_id)
    page = await browser.get(path)
    first = await browser.post(path, {"csrf": page.csrf, "email": user.email, "password": user.password}, page.cookie)
    assert first.status == 200
    again = await browser.get(path)
    assert again.status == 410 and link_tokens.LinkTokenUsed().message in again.text
    form = {"csrf": page.csrf, "email": intruder.email, "password": intruder.password}
    replay = await browser.post(path, form, page.cookie)
    assert replay.status == 410
    assert await identity_of(engine, slack_user_id) == {"user_id": user.id, "linked_via": "password"}
    assert len(await link_activities(engine, slack_user_id)) == 1


@pytest.mark.parametrize("mangle", ["flip_signature", "other_secret", "garbage", "unknown_nonce"])
async def test_tampered_link_is_refused_with_400_and_changes_nothing(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser, mangle: str
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    token = (await link_path(engine, slack_user_id)).removeprefix("/link/")
    claims = link_tokens.verify_token(BOT_SECRET, token, datetime.now(UTC))
    nonce = claims.nonce  # the CSRF value is bound to the nonce the token claims
    if mangle == "flip_signature":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif mangle == "other_secret":
        token = link_tokens.sign_token("another-secret-0123456789abcdef0123456789", claims)
    elif mangle == "garbage":
        token = "not-a-token"
    else:  # correctly signed by us, but never issued
        forged = link_tokens.LinkClaims(
            nonce=secrets.token_urlsafe(24), slack=claims.slack, expires_at=claims.expires_at
        )
        token, nonce = link_tokens.sign_token(BOT_SECRET, forged), forged.nonce
    page = await browser.get(f"/link/{token}")
    assert page.status == 400 and link_tokens.LinkTokenInvalid().message in page.text
    cookie = linking.new_csrf_cookie()
    form = {
        "csrf": linking.csrf_token(BOT_SECRET, nonce, cookie),
        "email": user.email,
        "password": user.password,
    }
    answer = await browser.post(f"/link/{token}", form, cookie)
    assert answer.status == 400
    assert await identity_of(engine, slack_user_id) is None


@pytest.mark.parametrize("problem", ["no_cookie", "no_field", "other_browser", "forged_field"])
async def test_missing_or_wrong_csrf_is_refused_with_403_and_changes_nothing(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser, problem: str
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id)
    page = await browser.get(path)
    form = {"csrf": page.csrf, "email": user.email, "password": user.password}
    cookie: str | None = page.cookie
    if problem == "no_cookie":
        cookie = None
    elif problem == "no_field":
        del form["csrf"]
    elif problem == "other_browser":  # the attacker's own valid pair does not fit the victim's cookie
        attacker = Browser(bot)
        try:
            form["csrf"] = (await attacker.get(path)).csrf
        finally:
            await attacker.close()
    else:
        form["csrf"] = linking.csrf_token("another-secret-0123456789abcdef0123456789", "nonce", page.cookie or "")
    answer = await browser.post(path, form, cookie)
    assert answer.status == 403
    assert linking.CsrfRejected().message in answer.text
    assert await identity_of(engine, slack_user_id) is None
    assert not await token_used(engine, path)
    assert await attempt_row(engine, f"email:{user.email.lower()}") is None


async def test_concurrent_posts_with_the_same_link_link_exactly_once(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    first, slack_user_id = await new_person(engine, slack)
    second = await make_user(engine)
    path = await link_path(engine, slack_user_id)
    page = await browser.get(path)
    answers = await asyncio.gather(
        *(
            browser.post(path, {"csrf": page.csrf, "email": who.email, "password": who.password}, page.cookie)
            for who in (first, second)
        )
    )
    assert sorted(a.status for a in answers) == [200, 410]
    identity = await identity_of(engine, slack_user_id)
    winner = first if answers[0].status == 200 else second
    assert identity == {"user_id": winner.id, "linked_via": "password"}
    assert [a["user_id"] for a in await link_activities(engine, slack_user_id)] == [winner.id]


# -- invites ----------------------------------------------------------------------------------------


async def test_linking_accepts_pending_invites_and_says_so(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner, name="Acme & Co")
    user, slack_user_id = await new_person(engine, slack)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_org_invites (organization_id, team_id, slack_user_id, role, invited_by) "
                "VALUES (:o, :t, :s, 'admin', :by)"
            ),
            {"o": org.id, "t": TEAM_ID, "s": slack_user_id, "by": owner.id},
        )
    answer = await browser.sign_in(await link_path(engine, slack_user_id), user.email, user.password)
    assert answer.status == 200
    assert "You also joined: Acme & Co (admin)." in answer.text
    async with engine.connect() as conn:
        role = (
            await conn.execute(
                text("SELECT role FROM organization_members WHERE organization_id = :o AND user_id = :u"),
                {"o": org.id, "u": user.id},
            )
        ).scalar_one()
        accepted = (
            await conn.execute(
                text("SELECT accepted_at FROM bot_org_invites WHERE organization_id = :o AND slack_user_id = :s"),
                {"o": org.id, "s": slack_user_id},
            )
        ).scalar_one()
    assert role == "admin" and accepted is not None
    await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.args.get("channel") == slack.dm_channel_id(slack_user_id)
    )
    [dm] = slack.dms(slack_user_id)
    assert "You joined *Acme &amp; Co* (admin)" in dm["text"]


async def test_the_linked_dm_names_the_first_invites_and_counts_the_rest(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, browser: Browser
) -> None:
    """Sixty waiting invites made one section too long for Slack: the DM never arrived."""
    owner = await make_user(engine)
    orgs = await many_orgs(engine, owner, 60, name="Hosting & <Partners> of the whole Northern Hemisphere")
    user, slack_user_id = await new_person(engine, slack)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_org_invites (organization_id, team_id, slack_user_id, role, invited_by) "
                "SELECT o, :t, :s, 'member', :by FROM unnest(CAST(:orgs AS uuid[])) o"
            ),
            {"orgs": orgs, "t": TEAM_ID, "s": slack_user_id, "by": owner.id},
        )
    answer = await browser.sign_in(await link_path(engine, slack_user_id), user.email, user.password)
    assert answer.status == 200
    await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.args.get("channel") == slack.dm_channel_id(slack_user_id)
    )
    [dm] = slack.dms(slack_user_id)
    assert "…and 41 more — `/cs org list` shows them all" in dm["text"]
    assert json.dumps(dm["blocks"]).count("Hosting &amp; &lt;Partners&gt;") == 19


async def test_a_post_whose_content_type_the_parser_chokes_on_is_a_400_not_a_500(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    """A non-ASCII byte after ';' made the stdlib's header parser raise IndexError inside
    aiohttp's request.post(): the public link page answered 500."""
    _, slack_user_id = await new_person(engine, slack)
    path = await link_path(engine, slack_user_id)
    host, port = bot.url.removeprefix("http://").split(":")
    body = b"email=a%40b.c&password=x&csrf=y"
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: ;\x80*\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"400", status_line
    assert await identity_of(engine, slack_user_id) is None

"""Pure rules of account linking: link tokens, CSRF values, the throttle's decisions and the renderers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.rendering.identity import render_linked_dm, render_unlinked, render_whoami
from bot.rendering.pages import CONTENT_SECURITY_POLICY, STYLE, render_link_form, render_link_success
from bot.services import linking
from bot.services.identity import SlackRef
from bot.services.link_tokens import (
    TOKEN_LIFETIME,
    LinkClaims,
    LinkTokenExpired,
    LinkTokenInvalid,
    sign_token,
    verify_token,
)
from bot.services.login_throttle import FAILURE_WINDOW, LOCKOUT, TooManyAttempts, decide

SECRET = "unit-test-secret-0123456789abcdef0123456789"
NOW = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
SLACK = SlackRef(enterprise_id="E1", team_id="T1", user_id="U1")


def _claims(expires_at: datetime = NOW + TOKEN_LIFETIME) -> LinkClaims:
    return LinkClaims(nonce="n0nce", slack=SLACK, expires_at=expires_at.replace(microsecond=0))


# -- tokens -----------------------------------------------------------------------------------------


def test_token_round_trips_its_slack_user_and_expiry() -> None:
    claims = _claims()
    assert verify_token(SECRET, sign_token(SECRET, claims), NOW) == claims


def test_token_is_refused_at_its_expiry() -> None:
    token = sign_token(SECRET, _claims())
    with pytest.raises(LinkTokenExpired):
        verify_token(SECRET, token, NOW + TOKEN_LIFETIME)


def _repack(token: str, **changes: object) -> str:
    payload, _, mac = token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: _repack(t, u="U2"),  # another user, old signature
        lambda t: _repack(t, x=4102444800),  # later expiry, old signature
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.partition(".")[0],
        lambda t: "." + t.partition(".")[2],
        lambda _: "garbage",
        lambda _: "",
    ],
    ids=["other_user", "extended", "mac_changed", "no_mac", "no_payload", "garbage", "empty"],
)
def test_tampered_token_is_invalid(mangle: object) -> None:
    token = sign_token(SECRET, _claims())
    with pytest.raises(LinkTokenInvalid):
        verify_token(SECRET, mangle(token), NOW)  # type: ignore[operator]


def test_token_signed_with_another_secret_is_invalid() -> None:
    with pytest.raises(LinkTokenInvalid):
        verify_token(SECRET, sign_token("another-secret-0123456789abcdef0123456789", _claims()), NOW)


# -- CSRF -------------------------------------------------------------------------------------------


def test_csrf_value_is_bound_to_the_link_and_the_browser_cookie() -> None:
    cookie = linking.new_csrf_cookie()
    value = linking.csrf_token(SECRET, "nonce-a", cookie)
    linking.check_csrf(SECRET, "nonce-a", cookie, value)
    for nonce, other_cookie, submitted in [
        ("nonce-b", cookie, value),  # another link
        ("nonce-a", linking.new_csrf_cookie(), value),  # another browser
        ("nonce-a", None, value),
        ("nonce-a", cookie, None),
        ("nonce-a", cookie, ""),
        ("nonce-a", cookie, linking.csrf_token("x" * 40, "nonce-a", cookie)),
    ]:
        with pytest.raises(linking.CsrfRejected):
            linking.check_csrf(SECRET, nonce, other_cookie, submitted)


def test_csrf_cookie_is_kept_when_well_formed_and_replaced_otherwise() -> None:
    cookie = linking.new_csrf_cookie()
    assert len(cookie) >= 32
    assert linking.new_csrf_cookie(cookie) == cookie
    assert linking.new_csrf_cookie("short") != "short"
    assert linking.new_csrf_cookie("x" * 500) != "x" * 500


def test_api_key_hash_is_the_panels_plain_base64() -> None:
    assert linking.api_key_hash("sk_live_abc123") == "c2tfbGl2ZV9hYmMxMjM="


# -- throttle ---------------------------------------------------------------------------------------


def test_throttle_counts_failures_and_locks_at_the_limit() -> None:
    state = decide(failures=0, window_started_at=NOW, locked_until=None, now=NOW, max_failures=3)
    assert (state.refused, state.failures, state.locked_until) == (False, 1, None)
    state = decide(failures=2, window_started_at=NOW, locked_until=None, now=NOW, max_failures=3)
    assert (state.refused, state.failures, state.locked_until) == (False, 3, NOW + LOCKOUT)


def test_throttle_refuses_while_locked_without_counting() -> None:
    state = decide(failures=3, window_started_at=NOW, locked_until=NOW + LOCKOUT, now=NOW, max_failures=3)
    assert state.refused and state.failures == 3


def test_throttle_starts_a_fresh_window_after_the_lock_or_window_ends() -> None:
    later = NOW + LOCKOUT + timedelta(seconds=1)
    after_lock = decide(failures=3, window_started_at=NOW, locked_until=NOW + LOCKOUT, now=later, max_failures=3)
    assert (after_lock.refused, after_lock.failures, after_lock.window_started_at) == (False, 1, later)
    stale = decide(failures=2, window_started_at=NOW, locked_until=None, now=NOW + FAILURE_WINDOW, max_failures=3)
    assert stale.failures == 1


def test_lockout_message_says_how_long_to_wait() -> None:
    assert "wait 15 minutes" in TooManyAttempts().message
    assert "wait 1 minute," in TooManyAttempts(timedelta(seconds=5)).message


# -- rendering --------------------------------------------------------------------------------------

NASTY = "<b>&*`x`*</b> \"'"


def test_link_pages_escape_every_value() -> None:
    form = render_link_form(slack_user=NASTY, workspace=NASTY, email=NASTY, csrf_token=NASTY, error=NASTY)
    success = render_link_success(NASTY, NASTY, [(NASTY, NASTY)], slack_user=NASTY, workspace=NASTY)
    for page in (form, success):
        assert "<b>" not in page and "\"'" not in page
    assert 'value="&lt;b&gt;&amp;*`x`*&lt;/b&gt; &quot;&#x27;"' in form


def test_page_style_is_allowed_by_its_hash_and_nothing_else() -> None:
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert re.search(r"default-src 'none'", CONTENT_SECURITY_POLICY)
    page = render_link_form(slack_user="@a", workspace="W", email="", csrf_token="c")
    assert f"<style>{STYLE}</style>" in page and "<script" not in page


def test_slack_renderers_escape_user_text() -> None:
    account = linking.LinkedAccount(SLACK, uuid.uuid4(), "<@U1>", "a&b@x", "password", (("<!here>", "admin"),))
    dm = render_linked_dm(account, command="/cs")
    whoami = render_whoami(
        name="<@U1>", email="e@x", is_staff=False, organization="<!channel>", role="member", linked_via="password"
    )
    unlinked = render_unlinked("<@U1>", "e@x", command="/cs")
    for message in (dm, whoami, unlinked):
        raw = json.dumps(message)
        assert "<@U1>" not in raw and "<!here>" not in raw and "<!channel>" not in raw

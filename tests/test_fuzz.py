"""Fuzzing the HTTP surface with Hypothesis: never a 500, never a write on rejection, always an answer.

The real app runs with the Slack, PayPal and Linode emulators (PayPal webhooks verified offline
against the emulator's certificate) in their own event loop on a background thread, so Hypothesis
(which is synchronous) can drive them with really signed requests. Every request goes through
`LiveBot.exchange`, which waits for the listeners Bolt runs after its ack and then reports:

* the HTTP status and body,
* what reached the user some other way (response_url posts, messages, modals),
* which tables changed, from a digest of every row of every table taken before and after.

Fuzzed are slash-command text and form fields, block actions, modal submissions, Events API
bodies, interactive payloads with wrongly typed fields, Slack signatures and timestamps, and
PayPal webhook bodies (signed and unsigned) and headers: huge, truncated, wrongly encoded
(invalid UTF-8, wrong content type or charset) and wrongly typed (numbers, lists, null where
strings are expected) values.

Each test runs FUZZ_EXAMPLES examples (100 by default; set it higher for a longer hunt).
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import os
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote_from_bytes, urlencode, urlsplit

import aiohttp
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import MAX_BODY_BYTES, AppOptions, drain_listener_tasks
from bot.app_keys import SERVICES
from bot.db.engine import create_engine
from bot.db.paypal_events import InboxEvent
from bot.emulators.linode import LinodeEmulator
from bot.emulators.paypal import PayPalEmulator, Transmission
from bot.emulators.paypal.forgery import PLACEHOLDER
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.emulators.slack.signing import sign
from bot.manifest import TICKET_SHORTCUT_CALLBACK
from bot.paypal.models import MalformedResource
from bot.rendering import orgs as org_render
from bot.rendering import tickets as ticket_render
from bot.rendering import vps as vps_render
from bot.rendering import wallet as wallet_render
from bot.rendering.admin_payments import REPLAY_ACTION_ID
from bot.rendering.identity import LINK_KEY_ACTION, LINK_KEY_BLOCK, LINK_KEY_CALLBACK
from bot.services.paypal_copies import EventNotReady
from bot.services.paypal_events import PayPalEventProcessor
from bot.services.topups import request_id_for_capture
from handlers.actions import URL_BUTTON_PREFIX
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, make_settings, start_bot
from tests.factories import add_member, add_slack_user, link_slack, make_org, make_user
from tests.paypal_fixtures import approved_order, pending_order
from tests.vps_fixtures import add_plan, create_values, select

T = TypeVar("T")
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")), deadline=None, suppress_health_check=list(HealthCheck)
)
WEBHOOK_ID = "WH-FUZZ"
CHANNEL = "C0FUZZ01"
#: Tables a rejected request may still touch: link prompts mint a one-time link token, and failed
#: API-key links are counted for throttling. Everything else must stay byte-for-byte the same.
REJECTION_MAY_TOUCH = frozenset({"bot_link_tokens", "bot_login_attempts"})
#: Every amount, balance and status that says money moved (annotations such as an anomaly note in
#: a top-up's metadata are not money).
MONEY = text(
    """
    SELECT (SELECT string_agg(organization_id || '=' || balance, ',' ORDER BY organization_id) FROM wallets),
           (SELECT string_agg(id || ':' || amount || ':' || status, ',' ORDER BY id) FROM payment_transactions),
           (SELECT string_agg(key || ':' || amount, ',' ORDER BY key) FROM bot_ledger_keys),
           (SELECT count(*) FROM vps_billing_cycles)
    """
)
ANSWER_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "views.open", "views.update", "views.push"}
)
FORM = "application/x-www-form-urlencoded"


# -- the app on a background loop ------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and everything it caused."""

    status: int
    body: str
    answers: list[Any]
    changed: set[str] = field(default_factory=set)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def writes(self, *, allowed: frozenset[str] = REJECTION_MAY_TOUCH) -> set[str]:
        return self.changed - allowed

    def clearly_answered(self) -> bool:
        """A non-empty reply in the HTTP answer, or one that reached the user afterwards."""
        if self.answers:
            return True
        parsed = self.json
        if isinstance(parsed, dict):
            return any(parsed.get(k) for k in ("text", "blocks", "errors", "view", "error", "status"))
        return bool(self.body.strip())


class LiveBot:
    """The real app on a background loop; `call` runs a coroutine there and waits for it."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.database_url = database_url
        self.tmp = tempfile.TemporaryDirectory(prefix="csbot-fuzz-")
        self.call(self._start())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def _start(self) -> None:
        self.slack = SlackEmulator(bot_token=BOT_TOKEN, pace_per_channel=None)
        self.paypal = PayPalEmulator(client_id="fuzz-id", client_secret="fuzz-secret", webhook_id=WEBHOOK_ID)
        self.linode = LinodeEmulator()
        for emulator in (self.slack, self.paypal, self.linode):
            await emulator.start()
        self.slack.add_channel(CHANNEL, name="fuzz")
        self.factory = SlackRequestFactory(SIGNING_SECRET, emulator=self.slack)
        ca = Path(self.tmp.name) / "ca.pem"
        ca.write_bytes(self.paypal.ca_pem)
        self.settings = make_settings(
            self.database_url, self.slack, paypal_client_id="fuzz-id", paypal_client_secret="fuzz-secret",
            paypal_api_url=self.paypal.base_url, paypal_webhook_id=WEBHOOK_ID, paypal_cert_hosts=self.paypal.base_url,
            paypal_cert_ca=ca, linode_api_token=self.linode.token, linode_api_url=self.linode.base_url,
            ssh_cred_secret="fuzz-ssh-cred-secret-0123456789abcdef", support_channel=CHANNEL,
        )  # fmt: skip
        self.started_at = datetime.now(UTC)
        self.runner, self.url = await start_bot(self.settings, self.database_url, AppOptions(run_workers=False))
        self.session = aiohttp.ClientSession()
        self.engine = create_engine(self.database_url, pool_size=2, max_overflow=0)
        await self._people()
        async with self.engine.connect() as conn:
            tables = (
                await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"))
            ).scalars()
            self._digest_sql = text(
                " UNION ALL ".join(
                    f"SELECT '{t}', (SELECT md5(coalesce(string_agg(md5(x::text), ',' ORDER BY md5(x::text)), '')) "
                    f'FROM "{t}" x)'
                    for t in tables
                )
            )
        services = self.runner.app[SERVICES]  # the inbox worker's processor, as the app builds it
        self.processor = PayPalEventProcessor(
            engine=services.engine, pool=services.pool, settings=services.settings, paypal=services.paypal
        )
        self.credited = await self._credited_capture()
        self.unpaid_order = await self._unpaid_order()

    async def _people(self) -> None:
        """An org owner and a member (both linked, with a wallet, a plan to pick) and a stranger."""
        owner = await make_user(self.engine)
        self.org = await make_org(self.engine, owner, balance=Decimal("50.00"))
        member = await make_user(self.engine)
        await add_member(self.engine, self.org, member)
        self.owner, self.member, self.stranger = (add_slack_user(self.slack) for _ in range(3))
        await link_slack(self.engine, self.owner, owner)
        await link_slack(self.engine, self.member, member)
        self.plan_id = await add_plan(self.engine)
        self.retired_plan_id = await add_plan(self.engine)
        async with self.engine.begin() as conn:
            await conn.execute(text("UPDATE vps_plans SET active = false WHERE id = :p"), {"p": self.retired_plan_id})
            self.do_plan_id = (
                await conn.execute(text("SELECT id FROM vps_plans WHERE provider_plan_id = 's-1vcpu-1gb'"))
            ).scalar_one()

    async def _credited_capture(self) -> dict[str, Any]:
        """A top-up already paid and credited: its capture event, which must never move money again."""
        client = self.processor.paypal
        assert client is not None
        _, order_id = await approved_order(self.engine, self.paypal, client, self.org.id, Decimal("12.00"))
        captured = await client.capture_order(order_id, request_id=request_id_for_capture(order_id))
        event = self.paypal.event_capture_completed(captured.captures[0].id)
        body = self.paypal.serialize(event)
        await self.processor.process(InboxEvent(event["id"], event["event_type"], body, 1))
        return event

    async def _unpaid_order(self) -> str:
        """A $10,000 top-up whose order was created and never approved: PayPal holds it unpaid."""
        assert self.processor.paypal is not None
        _, order_id = await pending_order(self.engine, self.processor.paypal, self.org.id, Decimal("10000.00"))
        return order_id

    async def _genuine(self) -> Transmission:
        """A genuine transmission of the credited capture's event, delivered to the bot (200)."""
        body = self.paypal.serialize(self.credited)
        headers = self.paypal.sign(body)
        status, _ = await self._post("/webhooks/paypal", body, headers)
        assert status == 200
        return self.paypal.transmissions[headers["PAYPAL-TRANSMISSION-ID"]]

    def genuine(self) -> Transmission:
        return self.call(self._genuine())

    async def _forget(self, transmission_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM bot_paypal_transmissions WHERE transmission_id = :t"), {"t": transmission_id}
            )

    def forget(self, transmission_id: str) -> None:
        """What housekeeping does once the transmission's time is long outside the window."""
        self.call(self._forget(transmission_id))

    async def created_servers(self) -> list[dict[str, Any]]:
        """The fuzz organisation's servers made by the create form: their plan and configuration."""
        async with self.engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT plan_id, configuration FROM vps_instances WHERE organization_id = :o AND label LIKE 'fz%'"
                ),
                {"o": self.org.id},
            )
            return [{"plan_id": r.plan_id, **r.configuration} for r in found]

    async def digest(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            return {name: value for name, value in (await conn.execute(self._digest_sql)).all()}

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        data = io.BytesIO(body) if len(body) > 512 * 1024 else body  # (aiohttp warns about large raw bytes)
        async with self.session.post(self.url + path, data=data, headers=headers) as response:
            return response.status, await response.text()

    async def _raw(self, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, str]:
        """HTTP/1.1 by hand, for header bytes no client library will send (non-ASCII, not UTF-8)."""
        parts = urlsplit(self.url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        head = b"POST %s HTTP/1.1\r\nHost: bot\r\nConnection: close\r\nContent-Length: %d\r\n" % (
            path.encode(),
            len(body),
        )
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        writer.write(head + b"\r\n" + body)
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        status_line, _, rest = answer.partition(b"\r\n")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")

    async def _exchange(self, send: Coroutine[Any, Any, tuple[int, str]]) -> Exchange:
        before = await self.digest()
        calls, responses = len(self.slack.calls), len(self.slack.responses)
        status, answer = await send
        await drain_listener_tasks(10)  # Bolt's listeners keep working after the ack
        after = await self.digest()
        # only what reached the user counts (a views.open with a stale trigger shows nothing)
        answers: list[Any] = [c for c in self.slack.calls[calls:] if c.method in ANSWER_METHODS and c.ok]
        answers += [r for r in self.slack.responses[responses:] if r.status == 200]
        return Exchange(status, answer, answers, {t for t in after if after[t] != before.get(t)})

    def exchange(self, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> Exchange:
        return self.call(self._exchange(self._post(path, body, headers)))

    def exchange_raw(self, body: bytes, headers: list[tuple[bytes, bytes]], path: str = "/slack/events") -> Exchange:
        return self.call(self._exchange(self._raw(path, body, headers)))

    async def _message(self) -> dict[str, Any]:
        return self.slack.add_message(CHANNEL, user=self.slack.identity.bot_user_id, text="A message with buttons")

    def message(self) -> dict[str, Any]:
        """A real message of the bot's in the channel, for clicks to come from (and be answered on)."""
        return self.call(self._message())

    async def _money(self) -> tuple[Any, ...]:
        async with self.engine.connect() as conn:
            return tuple((await conn.execute(MONEY)).one())

    def money(self) -> tuple[Any, ...]:
        return self.call(self._money())

    async def _process(self, event_id: str) -> tuple[str | None, BaseException | None]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT event_type, raw_body FROM bot_paypal_events WHERE event_id = :e"), {"e": event_id}
                )
            ).one()
        try:
            return await self.processor.process(InboxEvent(event_id, row.event_type, bytes(row.raw_body), 1)), None
        except Exception as exc:  # the inbox worker's view: what would it record for this event?
            return None, exc

    def process(self, event_id: str) -> tuple[str | None, BaseException | None]:
        return self.call(self._process(event_id))

    async def _stop(self) -> None:
        # Its workers are off, so the webhooks it stored are still due; the database is shared with
        # the rest of the run, and a later bot's inbox worker would apply them (and alert its staff).
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM bot_paypal_events WHERE received_at >= :started AND status <> 'processed'"),
                {"started": self.started_at},
            )
        await self.session.close()
        await self.runner.cleanup()
        for emulator in (self.slack, self.paypal, self.linode):
            await emulator.stop()
        await self.engine.dispose()

    def close(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[LiveBot]:
    bot = LiveBot(database_url)
    yield bot
    bot.close()


def signed(body: bytes, content_type: str = FORM, *, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(
        SIGNING_SECRET, body, ts)}  # fmt: skip


def signed_form(fields: dict[str, str] | list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields).encode()
    return body, signed(body)


def payload_of(body: bytes) -> dict[str, Any]:
    return json.loads(dict(parse_qsl(body.decode()))["payload"])


# -- strategies -----------------------------------------------------------------------------------

#: Anything text can hold, control characters, NUL and lone surrogates' neighbours included.
ANY_TEXT = st.text(max_size=120)
#: Huge values, built by repetition so Hypothesis stays fast.
HUGE_TEXT = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=6), st.integers(300, 6000))
TOKENS = st.sampled_from([
    "", " ", "0", "-1", "5", "25.00", "1e309", "-0", "NaN", "Infinity", "99999999999999999999999", "0.001", "1,000",
    "٣٤", "$5", "€5", "5 USD", "null", "[]", "{}", '{"org": 1}', "<@U0NOPE>", "<@U0NOPE|nobody>", "<#C0NOPE|x>",
    "<!channel>", "@here", str(uuid.UUID(int=1)), "cs-0000", "web-1", "'; DROP TABLE users; --", "%s%n", "\x00",
    "\u202e", "👍🏽", "a" * 300, "ticket", "admin", "org", "--help",
])  # fmt: skip
ARG = st.one_of(TOKENS, ANY_TEXT, st.integers().map(str), st.decimals(allow_nan=True).map(str))
#: Commands whose rejection must write nothing. Left out: those that legitimately write for any
#: argument (`org create`, `org use`, `org bind`, `org unbind`, `link`, `unlink`).
HEADS = st.sampled_from([
    "", "help", "wallet", "wallet history", "wallet topup", "org", "org list", "org members", "org invite",
    "org role", "org remove", "org bindings", "ticket", "ticket list", "ticket reply", "ticket new",
    "ticket support-channel", "ticket settings", "vps", "vps plans", "vps create", "vps web-1", "vps web-1 stop",
    "billing", "billing admin", "admin", "admin payments", "admin replay", "whoami", "help org",
])  # fmt: skip
COMMAND_LIKE = st.builds(lambda head, args: " ".join([head, *args]), HEADS, st.lists(ARG, max_size=4))
COMMAND_TEXT = st.one_of(COMMAND_LIKE, COMMAND_LIKE, ANY_TEXT, HUGE_TEXT)  # half of them shaped like commands
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63), st.floats(), ANY_TEXT, HUGE_TEXT
)
JSON_ANY = st.recursive(
    JSON_LEAF,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=10,
)
#: Header values an HTTP client can send (aiohttp refuses control characters, as it should).
HEADER_TEXT = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80),
    st.builds(lambda n: "A" * n, st.integers(1000, 7000)),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], *, max_changes: int = 3) -> dict[str, Any]:
    """`base` with a few values somewhere inside replaced by wrongly typed ones, or removed."""
    value: Any = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_changes))):
        paths = [p for p in _paths(value) if p]
        if not paths:  # everything inside was removed already
            break
        path = draw(st.sampled_from(paths))
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_ANY)
    return value


# -- slash commands -------------------------------------------------------------------------------


def who(live: LiveBot, index: int) -> str:
    return (live.owner, live.member, live.stranger)[index]


@FUZZ
@given(command_text=COMMAND_TEXT, person=st.integers(0, 2))
def test_any_slash_command_text_gets_a_clear_answer_and_writes_nothing(
    live: LiveBot, command_text: str, person: int
) -> None:
    request = live.factory.slash_command(who(live, person), command_text, channel_id=CHANNEL)
    ex = live.exchange(request.body, request.headers)
    assert ex.status == 200, ex.body
    assert ex.clearly_answered(), (ex.body, ex.answers)  # help, an answer, a refusal or a form
    assert not ex.writes(), ex.changed


SLASH_FIELDS = ["token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name", "command",
                "text", "api_app_id", "response_url", "trigger_id", "is_enterprise_install"]  # fmt: skip
CONTENT_TYPES = st.sampled_from([
    FORM, FORM + "; charset=utf-8", FORM + "; charset=latin-1", "application/json", "text/plain",
    "multipart/form-data; boundary=xyz", "", "garbage/../type",
])  # fmt: skip


@FUZZ
@given(
    person=st.integers(0, 2),
    drop=st.sets(st.sampled_from(SLASH_FIELDS)),
    replace=st.dictionaries(st.sampled_from(SLASH_FIELDS), st.one_of(ANY_TEXT, HUGE_TEXT), max_size=3),
    raw_text=st.one_of(st.none(), st.binary(max_size=200)),
    duplicate=st.booleans(),
    truncate=st.one_of(st.none(), st.integers(0, 400)),
    content_type=CONTENT_TYPES,
)
def test_slash_command_forms_with_missing_wrong_or_badly_encoded_fields_are_answered_and_write_nothing(
    live: LiveBot, *, person: int, drop: set[str], replace: dict[str, str], raw_text: bytes | None, duplicate: bool,
    truncate: int | None, content_type: str,
) -> None:  # fmt: skip
    request = live.factory.slash_command(who(live, person), "wallet", channel_id=CHANNEL)
    fields = [(k, v) for k, v in parse_qsl(request.body.decode()) if k not in drop]
    fields = [(k, replace.get(k, v)) for k, v in fields] + (fields[-2:] if duplicate else [])
    body = urlencode(fields).encode()
    if raw_text is not None:  # bytes that are not UTF-8, percent-encoded or raw
        body += b"&text=" + (quote_from_bytes(raw_text).encode() if len(raw_text) % 2 else raw_text)
    if truncate is not None:
        body = body[:truncate]
    ex = live.exchange(body, signed(body, content_type))
    assert ex.status in {200, 400, 401}, ex.body  # answered, or refused as malformed; never a 500
    if ex.status == 400:
        assert ex.json == {"error": "malformed request"}
    if ex.status == 401:  # a charset other than UTF-8 changes the text Bolt checks the signature over
        assert "charset" in content_type and ex.json == {"error": "invalid request"}
    assert ex.clearly_answered()
    assert not ex.writes(), ex.changed


# -- block actions ------------------------------------------------------------------------------------

KNOWN_ACTIONS = [
    wallet_render.TOPUP_CONFIRM_ACTION_ID, wallet_render.TOPUP_CANCEL_ACTION_ID, wallet_render.HISTORY_OLDER_ACTION_ID,
    wallet_render.HISTORY_NEWER_ACTION_ID, org_render.CREATE_BUTTON_ACTION_ID, org_render.REMOVE_CONFIRM_ACTION_ID,
    org_render.REMOVE_CANCEL_ACTION_ID, ticket_render.ACTION_ASSIGN_ME, ticket_render.ACTION_ASSIGN_USER,
    ticket_render.ACTION_PRIORITY, ticket_render.ACTION_STATUS, ticket_render.ACTION_CLOSE, ticket_render.ACTION_REPLY,
    *vps_render.POWER_ACTION_IDS.values(), vps_render.CREATE_OPEN_ACTION_ID, vps_render.DELETE_OPEN_ACTION_ID,
    vps_render.CANCEL_ACTION_ID, vps_render.REBUILD_PICK_ACTION_ID, vps_render.REBUILD_IMAGE_ACTION_ID,
    vps_render.REBUILD_CONFIRM_ACTION_ID, vps_render.RESIZE_PICK_ACTION_ID, vps_render.RESIZE_PLAN_ACTION_ID,
    vps_render.RESIZE_CONFIRM_ACTION_ID, REPLAY_ACTION_ID,
]  # fmt: skip
ACTION_VALUE = st.one_of(
    TOKENS, ANY_TEXT, HUGE_TEXT, JSON_ANY.map(json.dumps),
    st.builds(lambda a, b: f"{a}:{b}", st.uuids().map(str), st.uuids().map(str)),
)  # fmt: skip


@FUZZ
@given(
    action_id=st.one_of(st.sampled_from(KNOWN_ACTIONS), ANY_TEXT),
    value=ACTION_VALUE,
    kind=st.sampled_from(["button", "static_select", "users_select"]),
    person=st.integers(0, 2),
)
@example(action_id=URL_BUTTON_PREFIX + "panel_x", value="", kind="button", person=0)
def test_block_actions_with_garbled_values_are_answered_and_write_nothing(
    live: LiveBot, *, action_id: str, value: str, kind: str, person: int
) -> None:
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": kind}
    if kind == "button":
        action["value"] = value
    elif kind == "static_select":
        action["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": value}
    else:
        action["selected_user"] = value
    request = live.factory.block_actions(who(live, person), [action], channel_id=CHANNEL, message=live.message())
    ex = live.exchange(request.body, request.headers)
    assert ex.status == 200, ex.body
    if action_id.startswith(URL_BUTTON_PREFIX):  # a link button: the browser opens its URL, Slack wants a bare ack
        assert (ex.body, ex.answers) == ("", []), (action, ex.body)
    else:
        assert ex.clearly_answered(), (action, ex.body)
    assert not ex.writes(), ex.changed


# -- modal submissions --------------------------------------------------------------------------------


def modal_bases(live: LiveBot) -> dict[str, dict[str, Any]]:
    """A well-formed submission of every modal the bot handles: {callback_id: values}."""
    return {
        vps_render.CREATE_CALLBACK_ID: create_values(live.plan_id, label="fuzz-1"),
        vps_render.DELETE_CALLBACK_ID: {vps_render.FIELD_BLOCKS["confirm"]: {vps_render.VALUE: "fuzz-1"}},
        ticket_render.NEW_CALLBACK_ID: {
            "subject": {"value": "Fuzzed"}, "category": {"value": "general"},
            "priority": {"value": {"type": "static_select", "selected_option": {"value": "low"}}},
            "message": {"value": "A fuzzed ticket message."},
        },
        ticket_render.REPLY_CALLBACK_ID: {"message": {"value": "A fuzzed reply."}},
        org_render.CREATE_CALLBACK_ID: {org_render.NAME_BLOCK_ID: {org_render.NAME_ACTION_ID: "Fuzz org"}},
        LINK_KEY_CALLBACK: {LINK_KEY_BLOCK: {LINK_KEY_ACTION: "csk_" + "0" * 40}},
    }  # fmt: skip


def accepted(ex: Exchange) -> bool:
    """The submission was taken (modal closed, or replaced by a progress view); else it was refused."""
    if ex.body == "":
        return True
    parsed = ex.json or {}
    return parsed.get("response_action") == "update" and ":hourglass_flowing_sand:" in ex.body


@FUZZ
@given(data=st.data())
def test_modal_submissions_with_garbage_get_a_clear_answer_and_write_nothing_when_refused(
    live: LiveBot, data: st.DataObject
) -> None:
    bases = modal_bases(live)
    callback = data.draw(st.sampled_from(sorted(bases)))
    metadata = data.draw(st.one_of(
        st.just(json.dumps({"channel_id": CHANNEL})), st.just(""), ANY_TEXT, JSON_ANY.map(json.dumps),
        st.just(str(uuid.uuid4())),
    ))  # fmt: skip
    view = {"callback_id": callback, "private_metadata": metadata}
    person = data.draw(st.integers(0, 2))
    payload = payload_of(live.factory.view_submission(who(live, person), view, values=bases[callback]).body)
    state = payload["view"]["state"]
    state["values"] = data.draw(st.one_of(st.just(state["values"]), mutated(state["values"]), JSON_ANY))
    body, headers = signed_form({"payload": json.dumps(payload)})
    ex = live.exchange(body, headers)
    if len(body) > MAX_BODY_BYTES:  # generated values can add up past the limit: refused before anything
        assert ex.status == 413 and not ex.writes(allowed=frozenset())
        return
    assert ex.status == 200, ex.body
    parsed = ex.json
    assert ex.body == "" or (isinstance(parsed, dict) and parsed.get("response_action") in {"errors", "update"})
    if isinstance(parsed, dict) and parsed.get("response_action") == "errors":
        assert parsed["errors"] and all(isinstance(m, str) and m for m in parsed["errors"].values()), parsed
    if not accepted(ex):
        assert not ex.writes(), (callback, ex.body, ex.changed)


#: What the create form offers the fuzz organisation (the Linode emulator's catalogue; no StackScript
#: is enabled in the panel's table for it).
OFFERED_REGIONS = frozenset({"us-east", "ap-south", "eu-central"})
OFFERED_IMAGES = frozenset({"linode/debian12", "linode/ubuntu24.04", "linode/debian9"})


def create_choices(live: LiveBot) -> dict[str, st.SearchStrategy[str | None]]:
    """Each field: half the time a value the form offered, else one it never offered, or garbage."""

    def field(offered: list[str | None], never: list[str]) -> st.SearchStrategy[str | None]:
        return st.one_of(st.sampled_from(offered), st.sampled_from(offered), st.sampled_from(never), ANY_TEXT)

    return {
        "plan": field([str(live.plan_id)], [str(live.do_plan_id), str(live.retired_plan_id), str(uuid.uuid4())]),
        "region": field(sorted(OFFERED_REGIONS), ["mars-1", "US-EAST"]),
        "image": field(sorted(OFFERED_IMAGES), ["private/123", "linode/debian13"]),
        "stackscript": field([None], ["10079", "10080", "0", "99999999999", "\u00b2"]),
    }


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 60))
@given(data=st.data())
def test_random_create_form_values_never_make_a_server_with_a_value_that_was_not_offered(
    live: LiveBot, data: st.DataObject
) -> None:
    choices = {name: data.draw(strategy, label=name) for name, strategy in create_choices(live).items()}
    values = create_values(live.plan_id, label=f"fz{uuid.uuid4().hex[:10]}")
    for name, value in choices.items():
        if value is not None:
            values[vps_render.FIELD_BLOCKS[name]] = {vps_render.VALUE: select(value)}
    view = {"callback_id": vps_render.CREATE_CALLBACK_ID, "private_metadata": json.dumps({"channel_id": CHANNEL})}
    payload = payload_of(live.factory.view_submission(live.owner, view, values=values).body)
    ex = live.exchange(*signed_form({"payload": json.dumps(payload)}))
    assert ex.status == 200, ex.body
    made = live.call(live.created_servers())
    for config in made:
        assert config["plan_id"] == str(live.plan_id), config
        assert config["region"] in OFFERED_REGIONS and config["image"] in OFFERED_IMAGES, config
        assert config["stackscriptId"] is None, config
    for call in live.linode.calls_to("instances.create"):
        assert call.body.get("region") in OFFERED_REGIONS and call.body.get("image") in OFFERED_IMAGES, call.body
        assert call.body.get("type") == "g6-nanode-1" and "stackscript_id" not in call.body, call.body


# -- interactive payloads and Events API bodies with wrongly typed fields -------------------------------


def interactive_bases(live: LiveBot, person: str) -> list[bytes]:
    button = {"action_id": wallet_render.HISTORY_OLDER_ACTION_ID, "block_id": "b", "type": "button", "value": "10"}
    view = {"callback_id": ticket_render.NEW_CALLBACK_ID, "private_metadata": "{}"}
    return [
        live.factory.block_actions(person, [button], channel_id=CHANNEL, message=live.message()).body,
        live.factory.view_submission(person, view, values=modal_bases(live)[ticket_render.NEW_CALLBACK_ID]).body,
        live.factory.message_shortcut(
            person,
            TICKET_SHORTCUT_CALLBACK,
            channel_id=CHANNEL,
            message={"type": "message", "user": person, "text": "It is down", "ts": "1700000000.000100"},
        ).body,
    ]


@FUZZ
@given(data=st.data(), person=st.integers(0, 2), which=st.integers(0, 2))
def test_interactive_payloads_with_wrongly_typed_fields_never_fail_and_write_nothing(
    live: LiveBot, data: st.DataObject, person: int, which: int
) -> None:
    base = payload_of(interactive_bases(live, who(live, person))[which])
    payload = data.draw(st.one_of(mutated(base), JSON_ANY))
    body, headers = signed_form({"payload": json.dumps(payload)})
    ex = live.exchange(body, headers)
    assert ex.status in {200, 400}, ex.body
    if ex.status == 400:
        assert ex.json == {"error": "malformed request"}
    if payload_kept_identity(base, payload):  # (a ticket form taken closes the modal; its DM is queued)
        assert ex.clearly_answered() or (which == 1 and accepted(ex)), (payload, ex.body)
    # a ticket form that survived the mutation intact may open a ticket; nothing else may write
    if not (which == 1 and accepted(ex)):
        assert not ex.writes(), ex.changed


def payload_kept_identity(base: dict[str, Any], payload: Any) -> bool:
    """Whether the bot can still tell who clicked and where to answer (else silence is all it can do)."""
    if not isinstance(payload, dict) or payload.get("type") != base["type"]:
        return False
    user = payload.get("user")
    return (
        isinstance(user, dict) and user.get("id") == base["user"]["id"] and payload.get("team") == base["team"]
        and payload.get("response_url") == base.get("response_url") and payload.get("actions") == base.get("actions")
        and payload.get("view") == base.get("view") and payload.get("trigger_id") == base.get("trigger_id")
        and payload.get("callback_id") == base.get("callback_id")
    )  # fmt: skip


@FUZZ
@given(data=st.data(), person=st.integers(0, 2), kind=st.sampled_from(["home", "message", "mention"]))
def test_events_api_bodies_with_wrongly_typed_fields_never_fail_and_write_nothing(
    live: LiveBot, data: st.DataObject, person: int, kind: str
) -> None:
    user = who(live, person)
    if kind == "home":  # (without the current Home view, so every example starts from the same shape)
        event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
                 "event_ts": "1700000000.000100"}  # fmt: skip
    else:
        event = {"type": "message" if kind == "message" else "app_mention", "channel": CHANNEL, "user": user,
                 "text": "hello", "ts": "1700000000.000100", "thread_ts": "1700000000.000001"}  # fmt: skip
    base = json.loads(live.factory.event(event).body)
    payload = data.draw(st.one_of(mutated(base), JSON_ANY, st.just(base)))
    raw = json.dumps(payload).encode()
    body = data.draw(st.one_of(st.just(raw), st.builds(lambda n: raw[:n], st.integers(0, len(raw)))))
    ex = live.exchange(body, signed(body, "application/json"))
    assert ex.status in {200, 400}, ex.body
    if ex.status == 400:
        assert ex.json == {"error": "malformed request"}
    assert not ex.writes(allowed=REJECTION_MAY_TOUCH | {"bot_slack_events"}), ex.changed


# -- Slack signatures -----------------------------------------------------------------------------------


@FUZZ
@given(body=st.one_of(st.binary(max_size=2000), HUGE_TEXT.map(str.encode)), timestamp=HEADER_TEXT,
       signature=HEADER_TEXT, content_type=CONTENT_TYPES)  # fmt: skip
def test_unsigned_or_badly_signed_slack_requests_are_401_and_write_nothing(
    live: LiveBot, body: bytes, timestamp: str, signature: str, content_type: str
) -> None:
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature, "Content-Type": content_type}
    ex = live.exchange(body, headers)
    assert (ex.status, ex.json) == (401, {"error": "invalid request"})
    assert not ex.writes(allowed=frozenset()), ex.changed


@FUZZ
@given(
    command_text=ANY_TEXT,
    tamper=st.sampled_from(["stale", "future", "other-body", "other-secret", "v1-prefix", "truncated", "upper"]),
)
def test_slack_requests_signed_wrongly_are_401_and_reach_no_listener(
    live: LiveBot, command_text: str, tamper: str
) -> None:
    request = live.factory.slash_command(live.owner, command_text, channel_id=CHANNEL)
    body, now = request.body, int(time.time())
    headers = dict(request.headers)
    if tamper in {"stale", "future"}:
        # Well outside Slack's 5 minutes: `now` is truncated and the server reads its clock later.
        headers = signed(body, timestamp=now - 330 if tamper == "stale" else now + 330)
    elif tamper == "other-body":
        headers = signed(body + b"&x=1")
    elif tamper == "other-secret":
        headers["X-Slack-Signature"] = sign("not-the-secret", body, now)
        headers["X-Slack-Request-Timestamp"] = str(now)
    elif tamper == "v1-prefix":
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"].replace("v0=", "v1=")
    elif tamper == "truncated":
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"][:-1]
    else:
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"].upper()
    ex = live.exchange(body, headers)
    assert (ex.status, ex.json) == (401, {"error": "invalid request"})
    assert ex.answers == [] and not ex.writes(allowed=frozenset())


#: Header bytes only a hand-written client sends: digits that are not ASCII ("²", "１", "١"), other
#: non-ASCII UTF-8, and raw bytes that are not UTF-8 at all.
ODD_HEADER_BYTES = st.one_of(
    st.sampled_from(["²", "１７００００００００", "١٧٠٠٠٠٠٠٠٠", "v0=é", "é", "∞", "🔑"]).map(str.encode),
    st.binary(min_size=1, max_size=40)
    .map(lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F))
    .filter(lambda b: any(c >= 0x80 for c in b)),
)


@FUZZ
@given(
    header=st.sampled_from(["X-Slack-Request-Timestamp", "X-Slack-Signature", "Content-Type"]),
    value=ODD_HEADER_BYTES,
    append=st.booleans(),
)
# Found by this test: aiohttp's request.text() parsed this charset with the stdlib, which raised.
@example(header="Content-Type", value=b";\x80*", append=False)
def test_slack_headers_with_bytes_that_are_not_ascii_are_refused_and_write_nothing(
    live: LiveBot, header: str, value: bytes, append: bool
) -> None:
    request = live.factory.slash_command(live.owner, "wallet", channel_id=CHANNEL)
    headers = [(k.encode(), v.encode()) for k, v in request.headers.items() if k != header]
    headers.append((header.encode(), request.headers[header].encode() + value if append else value))
    ex = live.exchange_raw(request.body, headers)
    if header == "Content-Type":  # still signed: answered, or refused as malformed
        assert ex.status in {200, 400}, ex.body
    else:
        assert (ex.status, ex.json) in [(401, {"error": "invalid request"}), (400, None)], ex.body
    assert ex.clearly_answered() or ex.status == 400
    assert not ex.writes(), ex.changed


# -- PayPal webhooks ----------------------------------------------------------------------------------------

PAYPAL_HEADERS = ["PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL",
                  "PAYPAL-AUTH-ALGO", "Content-Type"]  # fmt: skip


#: What storing a delivery writes: the event, and its transmission id bound to the body's digest.
STORED_WEBHOOK = frozenset({"bot_paypal_events", "bot_paypal_transmissions"})


def envelope_ok(body: bytes) -> bool:
    """What PayPal's envelope must be for the bot to store it (id, event_type, resource object)."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return False
    if not isinstance(envelope, dict):
        return False
    event_id, event_type = envelope.get("id"), envelope.get("event_type")
    return (
        isinstance(event_id, str) and 0 < len(event_id) <= 128 and event_id.isprintable()
        and isinstance(event_type, str) and 0 < len(event_type) <= 100 and event_type.isprintable()
        and isinstance(envelope.get("resource"), dict)
    )  # fmt: skip


def rejected(ex: Exchange) -> None:
    assert (ex.status, ex.json) == (400, {"status": "rejected"}), ex.body
    assert not ex.writes(allowed=frozenset()), ex.changed


@FUZZ
@given(body=st.one_of(st.binary(max_size=2000), HUGE_TEXT.map(str.encode)),
       headers=st.dictionaries(st.sampled_from(PAYPAL_HEADERS), HEADER_TEXT, max_size=6))  # fmt: skip
def test_unsigned_paypal_webhook_garbage_is_rejected_without_storing_anything(
    live: LiveBot, body: bytes, headers: dict[str, str]
) -> None:
    rejected(live.exchange(body, headers, "/webhooks/paypal"))


@FUZZ
@given(data=st.data(), header=st.sampled_from(PAYPAL_HEADERS[:-1]))
def test_a_real_delivery_with_any_header_tampered_is_rejected_without_storing_anything(
    live: LiveBot, data: st.DataObject, header: str
) -> None:
    event = live.paypal.build_event("PAYMENT.CAPTURE.COMPLETED", {"id": "CAPTURE-FUZZ", "status": "COMPLETED"})
    body = live.paypal.serialize(event)
    headers = live.paypal.sign(body)
    original = headers[header]
    tampered = data.draw(
        st.one_of(
            HEADER_TEXT,
            st.builds(lambda n: original[:n], st.integers(0, max(0, len(original) - 1))),
            st.just(original + "0"),
            st.just(original.swapcase()),
            st.sampled_from(["", "null", "0", "[]", "SHA1withRSA", "https://api.paypal.com/v1/notifications/certs/x",
                             live.paypal.cert_url + "?x=1", live.paypal.cert_url + "/../../x",
                             live.paypal.base_url + "/v1/notifications/certs/CERT-NOPE"]),
        ).filter(lambda v: v != original)
    )  # fmt: skip
    rejected(live.exchange(body, {**headers, header: tampered}, "/webhooks/paypal"))


@FUZZ
@given(header=st.sampled_from(PAYPAL_HEADERS), value=ODD_HEADER_BYTES, append=st.booleans())
def test_a_real_delivery_with_header_bytes_that_are_not_ascii_is_rejected_without_storing_anything(
    live: LiveBot, header: str, value: bytes, append: bool
) -> None:
    event = live.paypal.build_event("PAYMENT.CAPTURE.COMPLETED", {"id": "CAPTURE-FUZZ", "status": "COMPLETED"})
    body = live.paypal.serialize(event)
    signed_headers = live.paypal.sign(body)
    headers = [(k.encode(), v.encode()) for k, v in signed_headers.items() if k != header]
    headers.append((header.encode(), signed_headers[header].encode() + value if append else value))
    ex = live.exchange_raw(body, headers, "/webhooks/paypal")
    if header == "Content-Type":  # not signed: PayPal's signature covers the body only
        assert ex.status == 200 and ex.writes(allowed=frozenset()) <= STORED_WEBHOOK
        return
    if ex.status == 400 and ex.json is None:
        assert not ex.writes(allowed=frozenset())  # refused by the HTTP parser itself
        return
    rejected(ex)


def _signed_bodies(live: LiveBot) -> st.SearchStrategy[bytes]:
    event = copy.deepcopy(live.credited)
    raw = live.paypal.serialize(event)
    handled = st.sampled_from([
        "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED",
        "PAYMENT.CAPTURE.REVERSED", "CHECKOUT.ORDER.APPROVED", "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
        "CUSTOMER.DISPUTE.CREATED",
    ])  # fmt: skip

    def retyped(envelope: dict[str, Any], event_type: str) -> bytes:
        return json.dumps({**envelope, "id": f"WH-FUZZ-{uuid.uuid4().hex}", "event_type": event_type}).encode()

    return st.one_of(
        st.builds(lambda n: raw[:n], st.integers(0, len(raw) - 1)),  # truncated
        st.builds(lambda b: raw.replace(b'"', b, 1), st.binary(min_size=1, max_size=3)),  # broken bytes
        st.just(raw.decode().encode("utf-16")),  # another encoding
        st.just(raw.decode().encode("latin-1", "replace") + b"\xff\xfe"),  # not UTF-8
        JSON_ANY.map(lambda v: json.dumps(v).encode()),  # any JSON at all
        st.builds(retyped, mutated(event), handled),  # the real capture event, wrongly typed inside
        st.builds(retyped, st.fixed_dictionaries({"resource": JSON_ANY}), handled),  # any resource
        st.builds(lambda n: raw[:-1] + b"," + b'"pad":"' + b"x" * n + b'"}', st.integers(100_000, 1_100_000)),  # huge
    )


@FUZZ
@given(data=st.data())
def test_signed_paypal_bodies_are_stored_once_when_well_formed_and_rejected_otherwise(
    live: LiveBot, data: st.DataObject
) -> None:
    body = data.draw(_signed_bodies(live))
    ex = live.exchange(body, live.paypal.sign(body), "/webhooks/paypal")
    if len(body) > 1024 * 1024:
        assert ex.status == 413 and not ex.writes(allowed=frozenset())  # over the body limit, before anything
        return
    if not envelope_ok(body):
        rejected(ex)
        return
    assert (ex.status, ex.json) == (200, {"status": "received"}), ex.body
    assert ex.writes(allowed=frozenset()) <= STORED_WEBHOOK
    # The inbox worker then applies it: a wrongly typed resource is refused as malformed (the event
    # goes dead at once, staff are told) or handled; money never moves for this already-paid capture.
    before = live.money()
    outcome, error = live.process(json.loads(body)["id"])
    assert error is None or isinstance(error, MalformedResource), repr(error)
    assert outcome is None or outcome, outcome
    assert live.money() == before, (outcome, error)


MONEY_EVENTS = [
    "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED",
    "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED", "CHECKOUT.ORDER.APPROVED",
    "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
]  # fmt: skip


def _claims(live: LiveBot) -> st.SearchStrategy[dict[str, Any]]:
    """Money events an attacker would write: the credited capture's event turned into any money event
    type, naming the unpaid order, the paid capture or order, or nothing PayPal knows, for any amount,
    with the ids of the unpaid top-up; and the same with values inside replaced by wrongly typed ones."""
    credited = live.credited["resource"]
    capture_id, paid_order = credited["id"], credited["supplementary_data"]["related_ids"]["order_id"]
    base = live.paypal.base_url

    def claim(event_type: str, named: str, order_id: str, amount: str) -> dict[str, Any]:
        event = copy.deepcopy(live.credited)
        event.update(id=f"WH-FORGED-{uuid.uuid4().hex}", event_type=event_type)
        resource = event["resource"]
        resource.update(id=named, order_id=named, status="COMPLETED", amount={"currency_code": "USD", "value": amount})
        resource["supplementary_data"] = {"related_ids": {"order_id": order_id}}
        resource["links"] = [{"href": f"{base}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"}]
        return event

    named = st.sampled_from([live.unpaid_order, capture_id, paid_order, "NOSUCHRESOURCE01"])
    orders = st.sampled_from([live.unpaid_order, paid_order])
    amounts = st.sampled_from(["10000.00", "12.00", "0.01", "99999999.99"])
    claims = st.builds(claim, st.sampled_from(MONEY_EVENTS), named, orders, amounts)
    return st.one_of(claims, claims.flatmap(lambda event: mutated(event, max_changes=2)))


@FUZZ
@given(data=st.data())
def test_a_genuine_deliverys_headers_with_any_forged_body_of_its_crc32_never_move_money(
    live: LiveBot, data: st.DataObject
) -> None:
    """The forged replay: refused while its transmission id is remembered; once forgotten, stored at
    most, and applying it moves no money (PayPal's copy of what it names is what counts)."""
    event = data.draw(_claims(live))
    assume(PLACEHOLDER not in live.paypal.serialize(event))
    genuine = live.genuine()
    body, headers = live.paypal.forged_replay(genuine, event)
    assert zlib.crc32(body) == zlib.crc32(genuine.body)
    rejected(live.exchange(body, headers, "/webhooks/paypal"))

    live.forget(genuine.transmission_id)
    before = live.money()
    ex = live.exchange(body, headers, "/webhooks/paypal")
    assert ex.status in {200, 400}, ex.body
    if ex.status == 200:
        outcome, error = live.process(json.loads(body)["id"])
        assert error is None or isinstance(error, MalformedResource | EventNotReady), repr(error)
        assert outcome is None or not outcome.startswith(("credited", "refunded")), outcome
        hypothesis_event(f"stored, then {outcome.split(':')[0] if outcome else type(error).__name__}")
    assert live.money() == before

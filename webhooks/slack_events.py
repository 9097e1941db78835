"""`POST /slack/events`: every Slack request (commands, interactivity, options, events) into Bolt.

The signature is checked here first, over the raw body, because Bolt parses the payload before it
verifies it and crashes on wrongly typed fields: an unsigned request gets 401 and a signed but
malformed one 400, never a 500 and never a listener.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app_keys import BOLT, SETTINGS

log = logging.getLogger(__name__)
INVALID = {"error": "invalid request"}
MALFORMED = {"error": "malformed request"}


async def slack_events(request: web.Request) -> web.Response:
    """Bolt acks within 3 s and runs listeners after; see the module docstring for the pre-checks."""
    body = await request.read()
    secret = request.app[SETTINGS].slack_signing_secret
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not signed_by_slack(secret.get_secret_value() if secret else "", body, timestamp, signature):
        return web.json_response(INVALID, status=401)
    try:
        # From the bytes already read, as UTF-8 (all Slack sends): aiohttp's request.text() would
        # parse the Content-Type's charset, and the stdlib parser raises IndexError on some values.
        bolt_request = AsyncBoltRequest(body=body.decode(), query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        _check_shape(bolt_request.body)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        log.warning("slack.request_malformed", extra={"error": type(exc).__name__})
        return web.json_response(MALFORMED, status=400)
    try:
        bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    except (TypeError, AttributeError, LookupError, ValueError) as exc:
        # Bolt indexes payloads while routing (and while building its error handler's arguments)
        # and raises on wrongly typed fields; such a request cannot be Slack's, so it is refused.
        log.warning("slack.request_malformed", exc_info=True, extra={"error": type(exc).__name__})
        return web.json_response(MALFORMED, status=400)
    return await to_aiohttp_response(bolt_response)


def _check_shape(body: object) -> None:
    """Refuse bodies Slack never sends: one of no known kind (Bolt would ack it with silence), and
    event envelopes Bolt crashes on (an event that is not an object) or that the dedupe step cannot
    record (an event id that is not a string; the answer would be a 503 and a retry)."""
    if not isinstance(body, dict) or not any(body.get(k) for k in ("type", "command", "ssl_check")):
        raise ValueError("neither a command, an interaction, an event nor a check")  # else a silent 200
    if body.get("type") == "event_callback":
        event, event_id = body.get("event"), body.get("event_id")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError("event_callback without an event object")
        if event_id is not None and not isinstance(event_id, str):
            raise ValueError("event_callback with an event id that is not a string")


def signed_by_slack(secret: str, body: bytes, timestamp: str, signature: str, *, now: float | None = None) -> bool:
    """Slack's v0 signature (HMAC-SHA256 of `v0:<timestamp>:<raw body>`), fresh within 5 minutes.

    Checked over the raw bytes: slack_sdk's verifier decodes the body as UTF-8 and parses the
    timestamp with int(), so a body that is not UTF-8, a timestamp of non-ASCII digits ("²") or a
    non-ASCII signature raised instead of being refused.
    """
    if not secret or not (timestamp.isascii() and timestamp.isdigit() and signature.isascii()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > 60 * 5:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)

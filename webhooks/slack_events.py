"""`POST /slack/events`: every Slack request (commands, interactivity, options, events) into Bolt.

The signature is checked here first, over the raw body, because Bolt parses the payload before it
verifies it and crashes on wrongly typed fields: an unsigned request gets 401 and a signed but
malformed one 400, never a 500 and never a listener.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.signature import SignatureVerifier

from bot.app_keys import BOLT, SETTINGS

log = logging.getLogger(__name__)
INVALID = {"error": "invalid request"}


async def slack_events(request: web.Request) -> web.Response:
    """Bolt acks within 3 s and runs listeners after; see the module docstring for the pre-checks."""
    body = await request.read()
    secret = request.app[SETTINGS].slack_signing_secret
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    verifier = SignatureVerifier(secret.get_secret_value() if secret else "")
    # slack_sdk's verifier raises on a non-numeric timestamp instead of rejecting it.
    if not timestamp.isdigit() or not verifier.is_valid(body, timestamp, request.headers.get("X-Slack-Signature", "")):
        return web.json_response(INVALID, status=401)
    try:
        bolt_request = await to_bolt_request(request)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        log.warning("slack.request_malformed", extra={"error": type(exc).__name__})
        return web.json_response({"error": "malformed request"}, status=400)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)

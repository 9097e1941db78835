"""The one place listener failures reach: log with a reference id, tell the user kindly."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.rendering.errors import render_internal_error, render_internal_error_view
from bot.services.container import Services
from bot.slack.ack_runner import LISTENER_TASK
from bot.slack.log_scope import request_fields
from bot.slack.reference import new_reference

log = logging.getLogger("csbot.slack")
Listener = Callable[..., Awaitable[Any]]
STALE_ACTION = "That button or form is no longer available. Run the command again to get a fresh one."
UNKNOWN_COMMAND = "This app does not know that command. Type `{command} help` to see what it can do."


def register(app: AsyncApp, services: Services) -> None:
    @app.error
    async def handle_listener_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None, client: AsyncWebClient
    ) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            return _answer_unhandled(body, services.settings.slack_command)
        ref = _log_failure(error, body, services)
        if body.get("type") == "event_callback":
            # Not acked yet (e.g. the database is down): 503, so Slack retries the delivery later.
            return BoltResponse(status=503, body="") if response is not None else None
        # Not acked yet: the HTTP answer itself can carry the apology.
        if response is not None and body.get("command"):
            return BoltResponse(status=200, body=render_internal_error(ref))
        if body.get("type") == "block_suggestion":  # a failed menu search offers nothing; the log has the ref
            return BoltResponse(status=200, body={"options": []})
        if response is not None and body.get("type") == "view_submission":
            view = render_internal_error_view(ref)
            return BoltResponse(status=200, body={"response_action": "update", "view": view})
        await tell_user(body, client, render_internal_error(ref))
        return BoltResponse(status=200, body="") if response is not None else None


def guarded(services: Services) -> Callable[[Listener], Listener]:
    """Wrap a listener so a failure *after* its ack is reported here, not by Bolt's runner.

    Bolt resets an ack when the listener raises right after acking, which can lose the HTTP answer
    for 3 s; reporting it ourselves keeps the ack and still tells the user (with a reference).
    Failures before the ack are re-raised so the error handler answers inline.
    """

    def decorate(listener: Listener) -> Listener:
        missing = {"ack", "body", "client"} - set(inspect.getfullargspec(listener).args)
        if missing:
            raise TypeError(f"guarded listener {listener.__name__} must accept {sorted(missing)}")

        @functools.wraps(listener)
        async def run(**kwargs: Any) -> Any:
            try:
                return await listener(**kwargs)
            except Exception as error:
                if kwargs["ack"].response is None:
                    raise
                ref = _log_failure(error, kwargs["body"], services)
                await tell_user(kwargs["body"], kwargs["client"], render_internal_error(ref))
                return None

        return run

    return decorate


def run_after_ack(
    services: Services,
    body: dict[str, Any],
    client: AsyncWebClient,
    work: Coroutine[Any, Any, None],
    *,
    view_id: str | None,
) -> None:
    """Finish post-ack work (such as filling the modal `view_id`) in a task of its own, at most
    `AFTER_ACK_CONCURRENCY` at a time; a failure is logged with a reference, shown in the modal if any.

    Its own task so the listener can return: while thousands of modals wait for a slow Linode, each
    waiting listener kept its whole request alive (Bolt's request, context, clients, payload), and
    every full garbage collection walked them all; in the benchmark those pauses (0.1–0.3 s, nothing
    collected) were the slowest acks. Named as listeners are, so shutdown drains them too.
    """
    task = asyncio.create_task(_after_ack(services, _context(body), client, work, view_id), name=LISTENER_TASK)
    services.after_ack_tasks.add(task)
    task.add_done_callback(services.after_ack_tasks.discard)


async def _after_ack(
    services: Services,
    context: dict[str, Any],
    client: AsyncWebClient,
    work: Coroutine[Any, Any, None],
    view_id: str | None,
) -> None:
    try:
        async with services.after_ack:
            await work
    except Exception as error:
        ref = new_reference()
        services.metrics.slack_listener_errors.inc()
        log.error("slack.listener_failed", exc_info=error, extra={"ref": ref, **context})
        if view_id is None:
            return
        try:
            await client.views_update(view_id=view_id, view=render_internal_error_view(ref))
        except Exception:  # the modal is gone or Slack is down; the log line above has the reference
            log.warning("slack.error_reply_failed", exc_info=True, extra={"ref": ref})


def _log_failure(error: BaseException, body: dict[str, Any], services: Services) -> str:
    ref = new_reference()
    services.metrics.slack_listener_errors.inc()
    log.error("slack.listener_failed", exc_info=error, extra={"ref": ref, **_context(body)})
    return ref


def _context(body: dict[str, Any]) -> dict[str, Any]:
    """Who and what, for the log line; tolerant of malformed payloads (they reach here too).

    What: the command words (`/cs link key`), never the arguments typed after them."""
    user = body.get("user_id") or _field(body.get("user"), "id") or _field(body.get("event"), "user")
    return {
        "slack_type": body.get("type") or ("slash_command" if body.get("command") else None),
        "slack_user": user if isinstance(user, str) else None,
        **request_fields(),
    }


def _field(container: object, key: str) -> object:
    return container.get(key) if isinstance(container, dict) else None


def _answer_unhandled(body: dict[str, Any], command: str) -> BoltResponse:
    """Ack what no listener handles: events silently (else Slack retries), stale buttons and
    commands this bot does not own kindly."""
    log.info("slack.unhandled", extra=_context(body))
    if body.get("type") == "block_actions":
        return BoltResponse(status=200, body={"text": STALE_ACTION, "response_type": "ephemeral"})
    if body.get("command"):
        text = UNKNOWN_COMMAND.format(command=command)
        return BoltResponse(status=200, body={"text": text, "response_type": "ephemeral"})
    return BoltResponse(status=200, body="")


async def tell_user(
    body: dict[str, Any], client: AsyncWebClient, message: dict[str, Any], *, replace_original: bool = False
) -> None:
    """Already acked: reach the user with `message` (ephemeral) through response_url (replacing the
    message clicked in, if asked), else an ephemeral in the channel, else a DM."""
    urls = body.get("response_urls")
    first = urls[0] if isinstance(urls, list) and urls else None
    response_url = body.get("response_url") or _field(first, "response_url")
    user = _context(body)["slack_user"]
    channel = body.get("channel_id") or _field(body.get("channel"), "id")
    if not isinstance(response_url, str):
        response_url = None
    if not isinstance(channel, str):
        channel = None
    try:
        if response_url:
            await AsyncWebhookClient(response_url).send_dict({**message, "replace_original": replace_original})
        elif user and channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=message["text"], blocks=message["blocks"])
        elif user:
            await client.chat_postMessage(channel=user, text=message["text"], blocks=message["blocks"])
    except Exception:  # the user cannot be reached; a log line before this one says why we tried
        log.warning("slack.error_reply_failed", exc_info=True, extra=_context(body))

"""Slack Web API failures sorted into a closed set of categories.

Callers branch on the category, never on raw error strings; an error code we have not classified
is logged as a warning so someone extends the table.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackFailure(enum.Enum):
    RATE_LIMITED = "rate_limited"  # 429: wait Retry-After, then try again
    TRANSIENT = "transient"  # 5xx, network, timeouts: back off and retry
    CHANNEL = "channel"  # channel gone, archived or the bot is not in it: a setup problem
    AUTH = "auth"  # token revoked or wrong: an operator problem
    INVALID = "invalid"  # our request was wrong: retrying cannot help
    UNKNOWN = "unknown"


_BY_ERROR: dict[str, SlackFailure] = {
    "ratelimited": SlackFailure.RATE_LIMITED,
    "rate_limited": SlackFailure.RATE_LIMITED,
    "fatal_error": SlackFailure.TRANSIENT,
    "internal_error": SlackFailure.TRANSIENT,
    "request_timeout": SlackFailure.TRANSIENT,
    "service_unavailable": SlackFailure.TRANSIENT,
    "channel_not_found": SlackFailure.CHANNEL,
    "not_in_channel": SlackFailure.CHANNEL,
    "is_archived": SlackFailure.CHANNEL,
    "user_not_in_channel": SlackFailure.CHANNEL,
    "user_not_found": SlackFailure.CHANNEL,
    "cannot_dm_bot": SlackFailure.CHANNEL,
    "not_authed": SlackFailure.AUTH,
    "invalid_auth": SlackFailure.AUTH,
    "token_revoked": SlackFailure.AUTH,
    "account_inactive": SlackFailure.AUTH,
    "missing_scope": SlackFailure.AUTH,
    "no_text": SlackFailure.INVALID,
    "msg_too_long": SlackFailure.INVALID,
    "msg_blocks_too_long": SlackFailure.INVALID,
    "invalid_blocks": SlackFailure.INVALID,
    "invalid_arguments": SlackFailure.INVALID,
    "too_many_attachments": SlackFailure.INVALID,
    "message_not_found": SlackFailure.INVALID,
    "cant_update_message": SlackFailure.INVALID,
    "edit_window_closed": SlackFailure.INVALID,
    "not_found": SlackFailure.INVALID,  # views.update: the modal was closed or replaced
    "already_reacted": SlackFailure.INVALID,  # reactions.add: the ✓ is there already (the outbox's success)
    "too_many_reactions": SlackFailure.INVALID,
    "invalid_name": SlackFailure.INVALID,
}

#: Slack refused what a message or view says (too long, blocks it will not take), not where it goes:
#: the same words in a plainer form can still arrive.
REFUSED_CONTENT = frozenset(
    {"invalid_blocks", "msg_too_long", "msg_blocks_too_long", "invalid_arguments", "view_too_large"}
)

#: Human setup hints for categories a person can fix in Slack.
SETUP_HINTS: dict[str, str] = {
    "not_in_channel": "Invite the bot to the channel with `/invite @ContainerStacks`.",
    "channel_not_found": "The channel does not exist or is private and the bot is not a member.",
    "is_archived": "The channel is archived; unarchive it or choose another channel.",
    "missing_scope": "The Slack app lacks a permission; reinstall it from manifest.yml.",
}


@dataclass(frozen=True)
class ClassifiedError:
    category: SlackFailure
    code: str
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.category in {SlackFailure.RATE_LIMITED, SlackFailure.TRANSIENT, SlackFailure.UNKNOWN}


def classify(exc: BaseException) -> ClassifiedError:
    """Map an exception raised by a Slack call to its category (and Retry-After when given)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = response.status_code
        code = str(response.get("error") or f"http_{status}") if response is not None else "unknown"
        if status == 429 or code in {"ratelimited", "rate_limited"}:
            header = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
            return ClassifiedError(SlackFailure.RATE_LIMITED, code, _seconds(header))
        if status >= 500:
            return ClassifiedError(SlackFailure.TRANSIENT, code)
        category = _BY_ERROR.get(code)
        if category is None:
            log.warning("slack.error.unclassified", extra={"slack_error": code, "status": status})
            return ClassifiedError(SlackFailure.UNKNOWN, code)
        return ClassifiedError(category, code)
    if isinstance(exc, aiohttp.ClientError | TimeoutError | ConnectionError):
        return ClassifiedError(SlackFailure.TRANSIENT, type(exc).__name__)
    return ClassifiedError(SlackFailure.UNKNOWN, type(exc).__name__)


def refusal_details(exc: BaseException) -> list[str]:
    """Slack's own reasons for refusing content (`errors`, `response_metadata.messages`), for the log."""
    response = getattr(exc, "response", None)
    if not isinstance(exc, SlackApiError) or response is None:
        return []
    messages = (response.get("response_metadata") or {}).get("messages") or response.get("errors") or []
    return [str(m) for m in messages][:10]


def _seconds(header: str | list[str] | None) -> float | None:
    if isinstance(header, list):
        header = header[0] if header else None
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None

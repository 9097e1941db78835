"""Times as each reader sees them: Slack's `<!date^…>` token, shown in the reader's own time zone.

Slack replaces the token with the date in the time zone of whoever reads the message, so one card
shows 09:00 to a reader in Berlin and 03:00 to one in New York. Where Slack cannot render it (some
notifications, clients without support, plain-text exports) the fallback after `|` is shown: the
time in UTC, saying so. Tokens only work in mrkdwn, never inside code spans or plain_text fields.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.rendering.escape import Mrkdwn


def _utc(moment: datetime) -> datetime:
    """Naive datetimes from the database are UTC (the panel's `timestamp` columns hold UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _token(moment: datetime, pattern: str, fallback: str) -> Mrkdwn:
    return Mrkdwn(f"<!date^{int(_utc(moment).timestamp())}^{pattern}|{fallback}>")


def _minutes(moment: datetime) -> str:
    return _utc(moment).isoformat(" ", "minutes")[:16]  # isoformat: much cheaper than strftime in long lists


def local_time(moment: datetime) -> Mrkdwn:
    """`Jun 3, 2025 at 9:00 AM` in the reader's zone; fallback `2025-06-03 07:00 UTC`."""
    return _token(moment, "{date_short_pretty} at {time}", f"{_minutes(moment)} UTC")


def local_clock(moment: datetime) -> Mrkdwn:
    """`9:00 AM` (a time of day, e.g. a daily window) in the reader's zone; fallback `07:00 UTC`."""
    return _token(moment, "{time}", f"{_utc(moment):%H:%M} UTC")


def local_date(moment: datetime) -> Mrkdwn:
    """`Jun 3, 2025` (or `Today`) in the reader's zone; fallback `2025-06-03 (UTC)`."""
    return _token(moment, "{date_short_pretty}", f"{_utc(moment).date().isoformat()} (UTC)")


def ago(moment: datetime) -> Mrkdwn:
    """`3 hours ago`, kept current by Slack, so a card never goes stale; fallback in UTC."""
    return _token(moment, "{ago}", f"{_minutes(moment)} UTC")

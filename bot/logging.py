"""Structured logging: JSON lines for machines, a compact format for people, secrets always masked.

Log events are dotted names (`outbox.delivered`) with context passed as `extra=`, so operators can
filter on fields instead of parsing prose.

What people type is not ours to log: command arguments, form values and message texts. Code never
logs them on purpose, and as a net for what it cannot control (exception messages that quote a
value, a library's debug lines) each Slack request declares its user-entered values (`private`),
which the handler's filter masks in every line logged while that request runs, tracebacks included.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
REDACTED = "[redacted]"
#: Shorter values are not masked: they cannot be secrets, and masking them would garble every line.
MIN_MASKED_CHARS = 4
#: Loggers whose records quote request and response bodies below WARNING (Bolt's, the Slack SDK's).
CHATTY_LOGGERS = ("aiohttp.access", "alembic", "apscheduler", "csbot.bolt", "slack_bolt", "slack_sdk")

#: Any Slack token (bot, user, app, rotating `xoxe.xoxb-…` and refresh `xoxe-…`): in distributed mode
#: each workspace has its own, which no setting lists, so they are masked by their shape.
SLACK_TOKEN = re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+")

_private: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("csbot_private_values", default=())


def keep_private(values: Iterable[str]) -> None:
    """Mask `values` (what a user typed) in every line logged from now on in this task and the tasks
    it starts, whichever logger writes it and however the value is quoted."""
    forms = {form for value in values for form in _quoted_forms(value) if len(form) >= MIN_MASKED_CHARS}
    if forms:
        _private.set(tuple(sorted(forms | set(_private.get()), key=len, reverse=True)))


def _quoted_forms(value: str) -> set[str]:
    """The value as code tends to quote it: itself, each line, and inside repr() or JSON strings."""
    value = value.strip()
    return {value, *value.splitlines(), repr(value)[1:-1], json.dumps(value)[1:-1]}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line with timestamp, level, logger, event and the `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    """Human-friendly single line: time, level, event, then key=value extras."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{when} {record.levelname:<7} {record.getMessage()}" + (f"  {extras}" if extras else "")
        if record.exc_info:
            line += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return line


class SecretRedactor(logging.Filter):
    """Masks the configured secrets, and the current request's private values, in the message, the
    extras and the traceback of every record, whatever code logged them."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        masked = self._secrets + _private.get()

        def mask(text: str) -> str:
            for value in masked:
                text = text.replace(value, REDACTED)
            return SLACK_TOKEN.sub(REDACTED, text) if "xox" in text else text

        record.msg = mask(record.getMessage())
        record.args = None
        for key, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, key, mask(value))
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return True


def log_handler(fmt: str | None, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """The one stream handler: JSON or console lines, secrets and private values masked."""
    stream = stream or sys.stderr
    chosen = fmt or ("console" if stream.isatty() else "json")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ConsoleFormatter() if chosen == "console" else JsonFormatter())
    handler.addFilter(SecretRedactor(secrets))
    return handler


def configure_logging(level: str, fmt: str | None, secrets: Iterable[str] = (), stream: TextIO | None = None) -> None:
    """Install the handler on the root logger; `fmt` None means JSON unless the stream is a TTY.

    Libraries that quote request bodies below WARNING stay at WARNING even at DEBUG."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(log_handler(fmt, secrets, stream))
    root.setLevel(level)
    for noisy in CHATTY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))

"""Logs are structured and never contain a configured secret."""

from __future__ import annotations

import json
import logging

from bot.logging import REDACTED, JsonFormatter, SecretRedactor


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("csbot.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_event_and_extra_fields() -> None:
    line = JsonFormatter().format(_record("outbox.delivered", outbox_id=7, channel="C1"))
    entry = json.loads(line)
    assert entry["event"] == "outbox.delivered"
    assert entry["outbox_id"] == 7 and entry["channel"] == "C1"
    assert entry["level"] == "info"


def test_secrets_are_masked_in_messages_and_extras() -> None:
    secret = "xoxb-super-secret-token"
    record = _record(f"calling with {secret}", header=f"Bearer {secret}")
    SecretRedactor([secret]).filter(record)
    line = JsonFormatter().format(record)
    assert secret not in line
    assert REDACTED in line


def test_short_values_are_not_treated_as_secrets() -> None:
    record = _record("port 3000 open")
    SecretRedactor(["3000"]).filter(record)
    assert record.getMessage() == "port 3000 open"

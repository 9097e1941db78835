"""Logs are structured and never contain a configured secret."""

from __future__ import annotations

import contextvars
import json
import logging

from bot.logging import REDACTED, JsonFormatter, SecretRedactor, keep_private


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


def test_workspace_tokens_no_setting_lists_are_masked_by_their_shape() -> None:
    """Distributed mode: every installed workspace has its own tokens, rotating and refresh ones too."""
    tokens = ["xoxb-1234-5678-AbCdEf", "xoxe.xoxb-1-MTIzNDU2Nzg5", "xoxe-1-My0xLTEyMzQ1Ng"]
    record = _record("refreshed " + " and ".join(tokens), answer=f"{{'access_token': '{tokens[1]}'}}")
    SecretRedactor([]).filter(record)
    line = JsonFormatter().format(record)
    assert not any(token in line for token in tokens)
    assert line.count(REDACTED) == 4 and "refreshed" in line


def test_short_values_are_not_treated_as_secrets() -> None:
    record = _record("port 3000 open")
    SecretRedactor(["3000"]).filter(record)
    assert record.getMessage() == "port 3000 open"


def _line_of(record: logging.LogRecord) -> str:
    SecretRedactor([]).filter(record)
    return JsonFormatter().format(record)


def test_a_requests_private_values_are_masked_in_messages_extras_and_tracebacks() -> None:
    typed = "sk_live_pasted key\nsecond line"

    def request() -> tuple[str, str]:  # one Slack request: its own context
        keep_private([typed, "25"])
        try:
            raise ValueError(f"invalid input for query argument $1: {typed!r}")
        except ValueError as error:
            failed = _record("lib said Responding body: " + json.dumps({"text": typed}), detail=typed)
            failed.exc_info = (ValueError, error, error.__traceback__)
        return _line_of(failed), _line_of(_record("topped up 25 of 250"))

    failed, short = contextvars.copy_context().run(request)
    assert "sk_live_pasted" not in failed and "second line" not in failed and REDACTED in failed
    assert "ValueError" in failed and "test_logging.py" in failed  # the traceback is kept, only the value goes
    assert json.loads(short)["event"] == "topped up 25 of 250"  # too short to mask: it cannot be a secret
    assert "sk_live_pasted" in _line_of(_record(typed))  # outside that request nothing is private

"""An in-process Slack for tests and the sandbox: Web API emulator plus signed inbound requests."""

from __future__ import annotations

from bot.emulators.slack.answers import Answer, AnswerRejected
from bot.emulators.slack.recording import Call, ResponsePost
from bot.emulators.slack.requests import SignedRequest, SlackRequestFactory, sign, tamper, with_signature
from bot.emulators.slack.server import SlackEmulator

__all__ = [
    "Answer",
    "AnswerRejected",
    "Call",
    "ResponsePost",
    "SignedRequest",
    "SlackEmulator",
    "SlackRequestFactory",
    "sign",
    "tamper",
    "with_signature",
]

"""An in-process Slack for tests and the sandbox: Web API emulator plus signed inbound requests."""

from __future__ import annotations

from bot.emulators.slack.answers import Answer, AnswerRejected
from bot.emulators.slack.delivery import EventDelivery
from bot.emulators.slack.oauth import ConsentError
from bot.emulators.slack.recording import Call, ResponsePost
from bot.emulators.slack.requests import SignedRequest, SlackRequestFactory, sign, tamper, with_signature
from bot.emulators.slack.server import SlackEmulator
from bot.emulators.slack.workspaces import Enterprise, Workspace

__all__ = [
    "Answer",
    "AnswerRejected",
    "Call",
    "ConsentError",
    "Enterprise",
    "EventDelivery",
    "ResponsePost",
    "SignedRequest",
    "SlackEmulator",
    "SlackRequestFactory",
    "Workspace",
    "sign",
    "tamper",
    "with_signature",
]

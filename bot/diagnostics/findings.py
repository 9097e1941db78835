"""What a check returns, how it is printed, and what every check may use."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"  # works, but something is missing or off; never changes the exit status
    FAIL = "fail"  # something the configuration turns on is broken: exit status 1
    SKIP = "skip"  # not configured, or cannot be checked from here


MARKS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-"}


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    detail: str
    fix: str = ""

    def render(self) -> str:
        line = f"{MARKS[self.status]} {self.check}: {self.detail}"
        if self.fix and self.status in (Status.WARN, Status.FAIL):
            line += f"\n    fix: {self.fix}"
        return line


def passed(check: str, detail: str) -> Finding:
    return Finding(Status.PASS, check, detail)


def warned(check: str, detail: str, fix: str) -> Finding:
    return Finding(Status.WARN, check, detail, fix)


def failed(check: str, detail: str, fix: str) -> Finding:
    return Finding(Status.FAIL, check, detail, fix)


def skipped(check: str, why: str) -> Finding:
    return Finding(Status.SKIP, check, f"skipped ({why})")


@dataclass(frozen=True)
class Context:
    """What the checks share: the settings, one HTTP session, and the database when it answered."""

    settings: Settings
    http: aiohttp.ClientSession
    engine: AsyncEngine | None


Check = Callable[[Context], Awaitable[Finding | list[Finding]]]

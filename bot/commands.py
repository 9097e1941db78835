"""The slash-command grammar as a table: slugs with aliases, matched longest first.

Help and "did you mean" suggestions are generated from the same table, so a command cannot exist
without being documented. The table is platform-neutral: handlers are opaque values here.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

H = TypeVar("H")
#: Help lists this group only to ContainerStacks staff (`/cs admin …`).
STAFF_GROUP = "Staff"


@dataclass(frozen=True)
class CommandSpec:
    """One command: its words, how to call it, what it does and where help lists it."""

    slug: tuple[str, ...]
    usage: str
    description: str
    group: str
    aliases: tuple[tuple[str, ...], ...] = ()
    needs_link: bool = True  # False: usable before the Slack user has linked an account
    #: True: the handler looks the linked actor up itself, in the same statement as its own read
    #: (`/cs wallet`), and answers an unlinked user with the link prompt; the dispatcher does not.
    resolves_actor: bool = False

    @property
    def words(self) -> str:
        return " ".join(self.slug)

    @property
    def staff_only(self) -> bool:
        return self.group == STAFF_GROUP

    @property
    def first_words(self) -> set[str]:
        """The words a help topic may name it by: `vps`, `servers`, `ticket`, `tickets`…"""
        return {slug[0] for slug in (self.slug, *self.aliases)}


@dataclass(frozen=True)
class CommandMatch(Generic[H]):
    spec: CommandSpec
    handler: H
    args: tuple[str, ...]


def tokenize(text: str) -> list[str]:
    """Split command text like a shell (quotes group words); unbalanced quotes fall back to spaces."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


@dataclass
class CommandTable(Generic[H]):
    """Commands in registration order (help shows them grouped in that order)."""

    _entries: list[tuple[CommandSpec, H]] = field(default_factory=list)
    _by_slug: dict[tuple[str, ...], tuple[CommandSpec, H]] = field(default_factory=dict)  # slugs and aliases
    _longest: int = 0  # words in the longest slug

    def add(self, spec: CommandSpec, handler: H) -> None:
        slugs = (spec.slug, *spec.aliases)
        for slug in slugs:
            if slug in self._by_slug:
                raise ValueError(f"command {' '.join(slug)!r} registered twice")
        self._entries.append((spec, handler))
        self._by_slug.update(dict.fromkeys(slugs, (spec, handler)))
        self._longest = max(self._longest, *(len(slug) for slug in slugs))

    @property
    def specs(self) -> list[CommandSpec]:
        return [spec for spec, _ in self._entries]

    def groups(self, *, staff: bool = True) -> dict[str, list[CommandSpec]]:
        """Specs by help group; without `staff`, the staff-only commands are left out."""
        grouped: dict[str, list[CommandSpec]] = {}
        for spec in self.specs:
            if staff or not spec.staff_only:
                grouped.setdefault(spec.group, []).append(spec)
        return grouped

    def topic(self, word: str, *, staff: bool = True) -> dict[str, list[CommandSpec]]:
        """Help for one topic: the commands a command word names (`vps`, `ticket`, `wallet`, `admin`…), else
        the group whose name starts with it (`account`, `support`); empty when it names nothing."""
        word = word.lower().strip()
        shown = self.groups(staff=staff)
        # `servers` (an alias of `vps`) or `tickets` names the whole family its command belongs to
        named = {s.slug[0] for specs in shown.values() for s in specs if word in s.first_words}
        chosen = {g: [s for s in specs if s.slug[0] in named] for g, specs in shown.items()}
        chosen = {g: specs for g, specs in chosen.items() if specs}
        if not chosen and len(word) >= 3:
            chosen = {g: specs for g, specs in shown.items() if g.lower().startswith(word)}
        return chosen

    def topics(self, *, staff: bool = True) -> list[str]:
        """The command words help accepts as topics, in the order help lists them."""
        return list(dict.fromkeys(s.slug[0] for s in self.specs if staff or not s.staff_only))

    def match(self, tokens: Sequence[str]) -> CommandMatch[H] | None:
        """The entry whose slug (or alias) is the longest prefix of `tokens`, case-insensitively."""
        lowered = tuple(t.lower() for t in tokens)
        for n in range(min(self._longest, len(lowered)), 0, -1):  # every command, every request: a few lookups
            found = self._by_slug.get(lowered[:n])
            if found is not None:
                return CommandMatch(spec=found[0], handler=found[1], args=tuple(tokens[n:]))
        return None

    def suggest(self, tokens: Sequence[str], limit: int = 3) -> list[CommandSpec]:
        """Commands that look like what the user typed (typos in the first one or two words)."""
        if not tokens:
            return []
        typed = " ".join(t.lower() for t in tokens[:2])
        first = tokens[0].lower()
        candidates: dict[str, CommandSpec] = {}
        for spec in self.specs:
            for slug in (spec.slug, *spec.aliases):
                candidates.setdefault(" ".join(slug), spec)
        close = difflib.get_close_matches(typed, candidates, n=limit, cutoff=0.6)
        close += difflib.get_close_matches(first, candidates, n=limit, cutoff=0.6)
        return _unique(candidates[c] for c in close)[:limit]


def _unique(specs: Iterable[CommandSpec]) -> list[CommandSpec]:
    seen: list[CommandSpec] = []
    for spec in specs:
        if spec not in seen:
            seen.append(spec)
    return seen


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")


def parse_user_mention(token: str) -> str | None:
    """`<@U123|name>` (Slack escapes mentions for us) → `U123`; anything else → None."""
    match = _MENTION.match(token.strip())
    return match.group(1) if match else None


def parse_channel_mention(token: str) -> str | None:
    """`<#C123|name>` → `C123`; anything else → None."""
    match = _CHANNEL.match(token.strip())
    return match.group(1) if match else None

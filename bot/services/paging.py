"""Paging long lists: which slice to read and where it sits in the whole (no Slack types here).

Every paged list (servers, tickets, organisations, members, ledger rows…) counts its rows in SQL and
reads one page with LIMIT/OFFSET, so a list of thousands costs two small statements, never a load of
everything. A page asked for past the end (rows were deleted since the buttons were drawn) shows the
last page instead of an empty one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """Where one page sits in its list: `count` items from `offset`, of `total`, at `limit` a page."""

    offset: int
    limit: int
    total: int
    count: int

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when the list is empty)."""
        return self.offset + 1 if self.count else 0

    @property
    def last(self) -> int:
        return self.offset + self.count

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + self.count < self.total

    @property
    def previous_offset(self) -> int:
        return max(0, self.offset - self.limit)

    @property
    def next_offset(self) -> int:
        return self.offset + self.limit


def clamp(offset: int, limit: int, *, maximum: int) -> tuple[int, int]:
    """A sane (offset, limit) from whatever a button or a command carried."""
    return max(0, offset), max(1, min(limit, maximum))


async def read_page(
    count: Callable[[], Awaitable[int]],
    fetch: Callable[[int, int], Awaitable[list[T]]],
    *,
    offset: int,
    limit: int,
) -> tuple[list[T], Span]:
    """Count the list, then read `limit` items from `offset` (`fetch(limit, offset)`); past the end,
    the last page."""
    total = await count()
    if total and offset >= total:
        offset = (total - 1) // limit * limit
    items = await fetch(limit, offset) if total else []
    return items, Span(offset=offset, limit=limit, total=total, count=len(items))

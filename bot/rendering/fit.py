"""Making payloads fit Slack: its limits, and the one way text is cut, split and capped.

Slack refuses a whole message (`invalid_blocks`, `msg_too_long`) when one part is over a limit, and
the user then sees nothing. Text is escaped *first* and measured after: escaping lengthens it (`&` is
five characters once escaped), so a text cut to the limit before escaping can still be refused.
Cuts never land inside an escaped entity (`&amp;`) or a token we built (`<@U123>`, `<url|label>`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.rendering.escape import Mrkdwn, escape_mrkdwn

# Slack's documented limits (Block Kit reference; chat.postMessage).
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
OVERFLOW_OPTIONS = 5
CONFIRM_TEXT = 300
INPUT_LABEL = 2000
INPUT_HINT = 2000
PLACEHOLDER = 150
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40000
#: Not in Slack's reference: chat.postMessage refuses blocks holding much more than ~12,000 characters of
#: text in all (`msg_blocks_too_long`, slackapi/bolt-js #2509 and #2867), however they are split. Messages
#: the bot posts keep their blocks' text within this.
MESSAGE_BLOCKS_TEXT = 10000
#: The words for "…and N more" when no command lists the rest.
IN_PANEL = "the ContainerStacks panel lists them all"

ELLIPSIS = "…"

# An escaped entity or a `<…>` token: a cut may fall before or after one, never inside.
_ATOMS = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]{1,500}>")


def _safe_end(text: str, limit: int) -> int:
    """The largest end ≤ limit that does not split an entity or a token."""
    if len(text) <= limit:
        return len(text)
    for atom in _ATOMS.finditer(text, max(0, limit - 501), limit + 501):
        if atom.start() < limit < atom.end():
            return atom.start()
    return limit


def clip(text: str, limit: int) -> str:
    """`text` (already escaped, or plain text) within `limit` characters, ending in … when cut."""
    if len(text) <= limit:
        return text
    cut = text[: _safe_end(text, limit - len(ELLIPSIS))].rstrip()
    return type(text)(cut + ELLIPSIS) if isinstance(text, Mrkdwn) else cut + ELLIPSIS


def clip_user_text(value: object, limit: int) -> Mrkdwn:
    """User or panel text escaped, then cut to `limit` escaped characters (escape first, then measure)."""
    return Mrkdwn(clip(escape_mrkdwn(value), limit))


def split_text(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """Split escaped mrkdwn into pieces of at most `limit` characters: at line breaks when it can, then
    at spaces, and only then inside a word; never inside an entity or a token. Nothing is dropped."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        end = _safe_end(rest, limit) or limit  # an atom longer than the whole limit must be split
        window = rest[:end]
        for separator in ("\n", " "):
            at = window.rfind(separator)
            if at > 0:
                pieces.append(rest[:at])
                rest = rest[at + 1 :]
                break
        else:
            pieces.append(window)
            rest = rest[end:]
    pieces.append(rest)
    return [piece for piece in pieces if piece] or [""]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}


def sections(text: str, limit: int = SECTION_TEXT) -> list[dict[str, Any]]:
    """Escaped mrkdwn as as many section blocks as it takes."""
    return [section(piece) for piece in split_text(text, limit)]


def line_sections(lines: Iterable[str], limit: int = SECTION_TEXT) -> list[dict[str, Any]]:
    """Escaped lines packed into sections, each line whole unless a single line is over the limit."""
    blocks: list[dict[str, Any]] = []
    chunk = ""
    for line in lines:
        for piece in split_text(line, limit):
            if chunk and len(chunk) + 1 + len(piece) > limit:
                blocks.append(section(chunk))
                chunk = piece
            else:
                chunk = f"{chunk}\n{piece}" if chunk else piece
    if chunk:
        blocks.append(section(chunk))
    return blocks


def more_line(hidden: int, how: str | None = None) -> Mrkdwn:
    """ "…and 12 more", with the way to see them (our own words, e.g. a command in backticks)."""
    return Mrkdwn(f"…and {hidden:,} more" + (f" — {how}" if how else ""))


def cap_blocks(
    blocks: Sequence[dict[str, Any]],
    limit: int = MESSAGE_BLOCKS,
    *,
    how: str | None = None,
    hidden_items: Callable[[int], int] | None = None,
) -> list[dict[str, Any]]:
    """At most `limit` blocks; when some are dropped the last kept block says how many and how to see them.

    `hidden_items` turns the number of dropped blocks into the number of dropped *items* (a section
    holds many lines): without it, blocks are counted."""
    if len(blocks) <= limit:
        return list(blocks)
    kept = list(blocks[: limit - 1])
    dropped = len(blocks) - len(kept)
    hidden = hidden_items(dropped) if hidden_items else dropped
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more_line(hidden, how)}]})
    return kept


def cap_lines(lines: Sequence[str], limit: int, *, how: str | None = None) -> list[str]:
    """At most `limit` lines, the last saying how many more there are and how to see them."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[: limit - 1], more_line(len(lines) - (limit - 1), how)]


def capped_sections(
    lines: Sequence[str], *, max_blocks: int, budget: int | None = None, how: str | None = None
) -> list[dict[str, Any]]:
    """Escaped lines packed into at most `max_blocks` sections (and `budget` characters of text): when not
    all fit, the last line kept says how many more there are and how to see them."""
    every = line_sections(lines)
    if _fits(every, max_blocks, budget):
        return every
    low, high = 0, len(lines) - 1  # the most lines that still fit beside their "…and N more"
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(line_sections([*lines[:middle], more_line(len(lines) - middle, how)]), max_blocks, budget):
            low = middle
        else:
            high = middle - 1
    return line_sections([*lines[:low], more_line(len(lines) - low, how)])


def _fits(blocks: Sequence[dict[str, Any]], max_blocks: int, budget: int | None) -> bool:
    return len(blocks) <= max_blocks and (budget is None or blocks_text(blocks) <= budget)


def blocks_text(value: Any) -> int:
    """Characters of text in blocks (every `text` string, at any depth): what `MESSAGE_BLOCKS_TEXT` limits."""
    if isinstance(value, dict):
        own = len(value["text"]) if isinstance(value.get("text"), str) else 0
        return own + sum(blocks_text(child) for child in value.values() if isinstance(child, dict | list))
    if isinstance(value, list):
        return sum(blocks_text(child) for child in value)
    return 0


def pack_posts(
    blocks: Sequence[dict[str, Any]], *, limit: int = MESSAGE_BLOCKS, budget: int = MESSAGE_BLOCKS_TEXT
) -> list[list[dict[str, Any]]]:
    """Blocks grouped, in order, into as many messages as it takes: each within `limit` blocks and
    `budget` characters of text (for a text too long for one message, posted whole in several)."""
    posts: list[list[dict[str, Any]]] = [[]]
    for block in blocks:
        current = posts[-1]
        if current and (len(current) >= limit or blocks_text(current) + blocks_text(block) > budget):
            posts.append([])
        posts[-1].append(block)
    return posts


def lines_message(text: str, *, context: str | None = None) -> dict[str, Any]:
    """A message to post from escaped mrkdwn lines: as many sections as they need within what one posted
    message may hold (lines that do not fit are counted), an optional context line, the fallback text."""
    budget = MESSAGE_BLOCKS_TEXT - len(context or "")
    blocks = capped_sections(text.split("\n"), max_blocks=MESSAGE_BLOCKS - 1, budget=budget)
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": fallback(text), "blocks": blocks}


def fallback(text: str, limit: int = MESSAGE_TEXT) -> str:
    """A message's top-level `text` (what notifications show) within Slack's limit."""
    return clip(text, limit)


def plain_version(payload: dict[str, Any], limit: int = MESSAGE_TEXT) -> dict[str, Any]:
    """The same message without blocks: for when Slack still refuses the blocks (`invalid_blocks`),
    the words arrive instead of nothing. Keeps the fields that say where it goes."""
    texts = [payload.get("text") or ""]
    for block in payload.get("blocks") or []:
        texts.extend(_block_texts(block))
    body = "\n".join(dict.fromkeys(t for t in texts if t))  # the fallback often repeats the first section
    plain = {key: value for key, value in payload.items() if key != "blocks"}
    plain["text"] = fallback(body or " ", limit)
    return plain


def plain_view(view: dict[str, Any], limit: int = VIEW_BLOCKS) -> dict[str, Any]:
    """A minimal version of a view Slack refused (a Home tab): its words, a section per piece of text,
    without the elements that may have been the problem. A stale Home is worse than a plain one."""
    texts = [text for block in view.get("blocks") or [] for text in _block_texts(block)]
    blocks = [piece for text in texts for piece in sections(text)]
    plain = {key: view[key] for key in ("type", "callback_id", "private_metadata", "external_id") if key in view}
    return {**plain, "blocks": cap_blocks(blocks or [section(" ")], limit)}


def _block_texts(block: dict[str, Any]) -> list[str]:
    """The words of a block as mrkdwn (a header's or a plain_text object's words escaped, being plain)."""
    objects: list[Any] = []
    if block.get("type") != "input":
        objects.append(block.get("text"))
    objects.extend(block.get("fields") or [])
    if block.get("type") == "context":
        objects.extend(block.get("elements") or [])
    found: list[str] = []
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            words = obj["text"]
            if obj.get("type") == "plain_text":
                words = escape_mrkdwn(words)
                words = f"*{words}*" if block.get("type") == "header" else words
            found.append(words)
    return found

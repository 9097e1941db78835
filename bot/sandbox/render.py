"""Block Kit → plain text for the sandbox console (pure: no I/O, no emulator).

Slack shows messages, modals and the App Home as rich layouts; a terminal gets one line per
element. Buttons are numbered (``[3] Confirm``) so the console can press them with ``:click 3``,
and modal inputs are numbered (``1. Name: Acme``) for ``:fill``. Unknown block types are printed
by type instead of failing: the bot may learn new blocks before this renderer does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Lookup = Callable[[str], str | None]

DIVIDER = "─" * 40
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")


def _no_lookup(_ref: str) -> str | None:
    return None


def mrkdwn(text: str, users: Lookup = _no_lookup, channels: Lookup = _no_lookup) -> str:
    """Slack markup made readable: links, mentions and ``*bold*`` simplified, entities unescaped."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            name = label or users(target[1:]) or target[1:]
            return "@" + name
        if target.startswith("#"):
            name = label or channels(target[1:]) or target[1:]
            return "#" + name
        if target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            if special.startswith("date"):
                return label or special
            if special.startswith("subteam"):
                return label or "@group"
            return "@" + special
        if label and label != target:
            return f"{label} ({target})"
        return target

    text = _LINK.sub(link, text)
    text = _BOLD.sub(r"\1", text)
    return html.unescape(text)


@dataclass(frozen=True)
class Clickable:
    """A numbered interactive element and where it lives (``source`` is the console's own tag)."""

    number: int
    label: str
    element: dict[str, Any]
    block_id: str
    source: Any

    @property
    def url(self) -> str | None:
        return self.element.get("url")

    def action(self) -> dict[str, Any]:
        """The ``actions[0]`` Slack sends when this element is pressed."""
        action: dict[str, Any] = {
            "type": self.element.get("type", "button"),
            "action_id": self.element.get("action_id", ""),
            "block_id": self.block_id,
        }
        if "text" in self.element:
            action["text"] = self.element["text"]
        for key in ("value", "selected_option", "url"):
            if key in self.element:
                action[key] = self.element[key]
        return action


@dataclass(frozen=True)
class InputField:
    """One ``input`` block of a modal, numbered for ``:fill``."""

    number: int
    block_id: str
    action_id: str
    label: str
    element: dict[str, Any]
    optional: bool

    @property
    def kind(self) -> str:
        return str(self.element.get("type", "plain_text_input"))

    def options(self) -> list[dict[str, Any]]:
        found = list(self.element.get("options") or [])
        for group in self.element.get("option_groups") or []:
            found.extend(group.get("options") or [])
        return found


@dataclass
class Renderer:
    """Turns blocks into lines, numbering buttons (continuing from ``first_button``) as it goes."""

    users: Lookup = _no_lookup
    channels: Lookup = _no_lookup
    first_button: int = 1
    clickables: list[Clickable] = field(default_factory=list)
    inputs: list[InputField] = field(default_factory=list)

    # --- entry points ------------------------------------------------------------------------

    def message(self, message: Mapping[str, Any], source: Any = None) -> list[str]:
        """A message: its blocks, or its text when it has none; attachments after."""
        lines = self.blocks(message.get("blocks") or [], source)
        if not lines and message.get("text"):
            lines = self.md(str(message["text"])).splitlines()
        for attachment in message.get("attachments") or []:
            inner = self.blocks(attachment.get("blocks") or [], source)
            if not inner:
                body = attachment.get("text") or attachment.get("fallback") or ""
                inner = self.md(str(body)).splitlines()
            lines.extend("┃ " + line for line in inner)
        reactions = [f":{r['name']}: {r.get('count', 1)}" for r in message.get("reactions") or []]
        if reactions:
            lines.append("  ".join(reactions))  # as Slack shows them under the message
        return lines or ["(empty message)"]

    def view(self, view: Mapping[str, Any], source: Any = None, values: Mapping[str, str] | None = None) -> list[str]:
        """A modal or Home view: title, then blocks with numbered inputs showing current values."""
        lines: list[str] = []
        title = _plain(view.get("title"))
        if title:
            lines.append(f"╔ {title} ╗" if view.get("type", "modal") == "modal" else f"== {title} ==")
        lines.extend(self.blocks(view.get("blocks") or [], source, values or {}))
        buttons = [
            f"[{key}] {_plain(view.get(key)) or default}"
            for key, default in (("submit", "Submit"), ("close", "Cancel"))
            if view.get(key) or (key == "close" and view.get("type", "modal") == "modal")
        ]
        if buttons and view.get("type", "modal") == "modal":
            lines.append("  ".join(buttons) + "   (:submit / :close)")
        return lines

    # --- blocks --------------------------------------------------------------------------------

    def blocks(self, blocks: list[dict[str, Any]], source: Any, values: Mapping[str, str] | None = None) -> list[str]:
        lines: list[str] = []
        for index, block in enumerate(blocks):
            if not isinstance(block, Mapping):
                lines.append(f"[unsupported block: {type(block).__name__}]")
                continue
            block_id = str(block.get("block_id") or f"b{index}")
            lines.extend(self._block(dict(block), block_id, source, values or {}))
        return lines

    def _block(self, block: dict[str, Any], block_id: str, source: Any, values: Mapping[str, str]) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return [f"== {_plain(block.get('text'))} =="]
        if kind == "divider":
            return [DIVIDER]
        if kind == "section":
            return self._section(block, block_id, source)
        if kind == "context":
            parts = [self._context_element(e) for e in block.get("elements") or []]
            return ["  " + " · ".join(p for p in parts if p)]
        if kind == "actions":
            parts = [self._element(e, block_id, source) for e in block.get("elements") or []]
            return ["  ".join(p for p in parts if p)]
        if kind == "input":
            return self._input(block, block_id, values)
        if kind == "image":
            return [f"[image: {block.get('alt_text') or _plain(block.get('title')) or 'image'}]"]
        if kind == "rich_text":
            return self.md(_rich_text(block.get("elements") or [])).splitlines() or [""]
        if kind == "markdown":
            return str(block.get("text") or "").splitlines()
        if kind == "file":
            return [f"[file: {block.get('external_id', '')}]"]
        if kind == "video":
            return [f"[video: {_plain(block.get('title'))}]"]
        return [f"[{kind or 'untyped'} block]"]

    def _section(self, block: dict[str, Any], block_id: str, source: Any) -> list[str]:
        lines = self.md(self._text(block.get("text"))).splitlines() if block.get("text") else []
        for f in block.get("fields") or []:
            field_lines = [line.strip() for line in self.md(self._text(f)).splitlines() if line.strip()]
            if len(field_lines) > 1:  # Slack's usual "*Label*\nvalue" field reads best on one line
                field_lines = [f"{field_lines[0]}: {' '.join(field_lines[1:])}"]
            lines.append("  • " + (field_lines[0] if field_lines else ""))
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            rendered = self._element(dict(accessory), block_id, source)
            if rendered:
                if lines:
                    lines[-1] = f"{lines[-1]}   {rendered}"
                else:
                    lines.append(rendered)
        return lines

    def _context_element(self, element: Mapping[str, Any]) -> str:
        if element.get("type") == "image":
            return f"[{element.get('alt_text') or 'image'}]"
        return self.md(self._text(element)).replace("\n", " ")

    def _element(self, element: dict[str, Any], block_id: str, source: Any) -> str:
        kind = element.get("type")
        if kind in {"button", "workflow_button"}:
            label = _plain(element.get("text")) or element.get("action_id") or "button"
            number = self._add_clickable(label, element, block_id, source)
            style = " (danger)" if element.get("style") == "danger" else ""
            link = f" → {element['url']}" if element.get("url") else ""
            return f"[{number}] {label}{style}{link}"
        if kind == "overflow":
            labels = [self._add_option(o, element, block_id, source) for o in element.get("options") or []]
            return "⋯ " + "  ".join(labels)
        if kind in {"static_select", "radio_buttons", "checkboxes"} and element.get("action_id"):
            options = element.get("options") or [o for g in element.get("option_groups") or [] for o in g["options"]]
            prompt = _plain(element.get("placeholder")) or "choose"
            labels = [self._add_option(o, element, block_id, source) for o in options]
            return f"{prompt}: " + "  ".join(labels)
        if kind == "image":
            return f"[image: {element.get('alt_text') or 'image'}]"
        if kind:
            return f"[{kind}]"
        return ""

    def _add_clickable(self, label: str, element: dict[str, Any], block_id: str, source: Any) -> int:
        number = self.first_button + len(self.clickables)
        self.clickables.append(Clickable(number, label, element, block_id, source))
        return number

    def _add_option(self, option: Mapping[str, Any], element: dict[str, Any], block_id: str, source: Any) -> str:
        label = _plain(option.get("text")) or str(option.get("value", ""))
        chosen = {**element, "selected_option": dict(option)}
        number = self._add_clickable(label, chosen, block_id, source)
        return f"[{number}] {label}"

    def _input(self, block: dict[str, Any], block_id: str, values: Mapping[str, str]) -> list[str]:
        element = dict(block.get("element") or {})
        label = _plain(block.get("label")) or block_id
        field_ = InputField(
            number=len(self.inputs) + 1,
            block_id=block_id,
            action_id=str(element.get("action_id") or "value"),
            label=label,
            element=element,
            optional=bool(block.get("optional")),
        )
        self.inputs.append(field_)
        current = values.get(block_id, initial_value(element))
        marker = " (optional)" if field_.optional else ""
        lines = [f"  {field_.number}. {label}{marker}: {current if current else '—'}"]
        options = field_.options()
        if options:
            lines.append(
                "       options: " + "  ".join(f"{i})\u00a0{_plain(o.get('text'))}" for i, o in enumerate(options, 1))
            )
        hint = _plain(block.get("hint"))
        if hint:
            lines.append(f"       ({hint})")
        return lines

    # --- text ----------------------------------------------------------------------------------

    def md(self, text: str) -> str:
        return mrkdwn(text, self.users, self.channels)

    @staticmethod
    def _text(obj: Any) -> str:
        if isinstance(obj, Mapping):
            return str(obj.get("text") or "")
        return str(obj or "")


def initial_value(element: Mapping[str, Any]) -> str:
    """What an input shows before anyone types: its initial value/option(s), as text."""
    for key in ("initial_value", "initial_date", "initial_time", "initial_user", "initial_conversation"):
        if element.get(key):
            return str(element[key])
    option = element.get("initial_option")
    if isinstance(option, Mapping):
        return _plain(option.get("text"))
    options = element.get("initial_options")
    if options:
        return ", ".join(_plain(o.get("text")) for o in options)
    return ""


def _plain(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return html.unescape(str(obj.get("text") or ""))
    return html.unescape(str(obj)) if obj else ""


def _rich_text(elements: list[Any]) -> str:
    """Flatten rich_text sections/lists/quotes into mrkdwn-ish text."""
    out: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        if kind == "text":
            out.append(str(element.get("text", "")))
        elif kind == "link":
            out.append(f"<{element.get('url', '')}|{element.get('text') or element.get('url', '')}>")
        elif kind == "user":
            out.append(f"<@{element.get('user_id', '')}>")
        elif kind == "channel":
            out.append(f"<#{element.get('channel_id', '')}>")
        elif kind == "emoji":
            out.append(f":{element.get('name', '')}:")
        elif kind == "rich_text_list":
            items = [_rich_text(item.get("elements") or []).strip() for item in element.get("elements") or []]
            out.append("".join("• " + item + "\n" for item in items))
        elif kind in {"rich_text_section", "rich_text_quote", "rich_text_preformatted"}:
            inner = _rich_text(element.get("elements") or []).rstrip("\n")
            out.append(("> " + inner if kind == "rich_text_quote" else inner) + "\n")
        else:
            out.append(f"[{kind}]")
    return "".join(out)

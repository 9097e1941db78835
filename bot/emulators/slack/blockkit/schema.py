"""Schema primitives for the Block Kit validator: each check reports problems at a JSON pointer.

Slack validates Block Kit against JSON schemas and answers with one line per violation, such as
``must be less than 3001 characters [json-pointer:/blocks/0/text/text]``. These checks produce the
same wording for the shapes seen on the wire (lengths, item counts, missing and additional
properties); the remaining wordings are close approximations, since only the error code and the
pointer matter to a client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


class Report:
    """The problems found so far, in Slack's ``<message> [json-pointer:<path>]`` form."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, pointer: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")


Check = Callable[[Any, str, Report], None]
Rule = Callable[[dict[str, Any], str, Report], None]


def string(*, max_len: int | None = None, min_len: int = 0) -> Check:
    """A string of ``min_len``..``max_len`` characters (Slack counts characters, not bytes)."""

    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, str):
            report.add(pointer, "must be a string")
        elif max_len is not None and len(value) > max_len:
            report.add(pointer, f"must be less than {max_len + 1} characters")
        elif len(value) < min_len:
            report.add(pointer, f"must be more than {min_len - 1} characters")

    return check


def boolean() -> Check:
    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, bool):
            report.add(pointer, "must be a boolean")

    return check


def integer(*, low: int | None = None, high: int | None = None) -> Check:
    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            report.add(pointer, "must be an integer")
        elif low is not None and value < low:
            report.add(pointer, f"must be greater than or equal to {low}")
        elif high is not None and value > high:
            report.add(pointer, f"must be less than or equal to {high}")

    return check


def one_of(*values: str) -> Check:
    def check(value: Any, pointer: str, report: Report) -> None:
        if value not in values:
            report.add(pointer, f"must be one of: {', '.join(values)}")

    return check


def anything() -> Check:
    """A field Slack accepts whose content the emulator does not model (filters, rich text)."""

    def check(value: Any, pointer: str, report: Report) -> None:
        return None

    return check


def array(item: Check, *, max_items: int, min_items: int = 1) -> Check:
    """A list of ``min_items``..``max_items`` entries, each checked at its own index."""

    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, list):
            report.add(pointer, "must provide an array")
            return
        if len(value) > max_items:
            report.add(pointer, f"no more than {max_items} items allowed")
        elif len(value) < min_items:
            report.add(pointer, f"must provide at least {min_items} items")
        for index, entry in enumerate(value):
            item(entry, f"{pointer}/{index}", report)

    return check


def obj(
    required: Mapping[str, Check],
    optional: Mapping[str, Check] | None = None,
    rules: Iterable[Rule] = (),
) -> Check:
    """An object with exactly these fields: Slack's schemas forbid additional properties."""
    optional = optional or {}
    rules = tuple(rules)

    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, dict):
            report.add(pointer, "must provide an object")
            return
        for name in required:
            if name not in value:
                report.add(pointer, f"missing required field: {name}")
        for name, field_value in value.items():
            field_check = required.get(name) or optional.get(name)
            if field_check is None:
                report.add(pointer, f"invalid additional property: {name}")
            else:
                field_check(field_value, f"{pointer}/{name}", report)
        for rule in rules:
            rule(value, pointer, report)

    return check


def typed(kinds: Mapping[str, Check], *, what: str = "type") -> Check:
    """An object whose ``type`` picks its schema from ``kinds``; any other type is refused."""

    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, dict):
            report.add(pointer, "must provide an object")
            return
        kind = value.get("type")
        if kind is None:
            report.add(pointer, "missing required field: type")
            return
        schema = kinds.get(kind) if isinstance(kind, str) else None
        if schema is None:
            report.add(pointer, f"unsupported {what}: {kind}")
            return
        schema(value, pointer, report)

    return check

"""Collections: ``X-Filter`` matching and ordering, then the paginated envelope.

Supported filter syntax: field equality (a list field such as ``tags`` matches when it contains
the value), dotted or nested paths (``"entity.id"`` or ``{"entity": {"id": 1}}``), ``+and``,
``+or``, ``+neq``, ``+contains``, ``+gt``, ``+gte``, ``+lt``, ``+lte``, ``+order_by`` and
``+order``. ``+limit`` is ignored. Unlike the real API, any field present in the object may be
filtered and sorted on; a field the object lacks answers 400 like Linode's "Cannot filter on".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from bot.emulators.linode.wire import bad_request

DEFAULT_PAGE_SIZE = 100
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 25, 500
_IGNORED_KEYS = {"+order_by", "+order", "+limit"}
_MISSING = object()


def parse_filter(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise bad_request("X-Filter is not valid JSON", "X-Filter") from None
    if not isinstance(parsed, dict):
        raise bad_request("X-Filter must be a JSON object", "X-Filter")
    return parsed


def select(
    records: Iterable[dict[str, Any]],
    flt: dict[str, Any] | None,
    *,
    default_order: tuple[str, bool] | None = ("id", False),
) -> list[dict[str, Any]]:
    """Filter ``records`` and sort them.

    ``+order_by`` wins (ties broken by ``id`` in the same direction); otherwise ``default_order``
    as ``(field, descending)``, or the given order when it is None.
    """
    chosen = [r for r in records if flt is None or _matches(r, flt)]
    if flt and (order_by := flt.get("+order_by")):
        order = flt.get("+order", "asc")
        if order not in ("asc", "desc"):
            raise bad_request("+order must be asc or desc", "X-Filter")
        chosen.sort(
            key=lambda r: (_sort_key(_lookup(r, str(order_by))), _sort_key(r.get("id"))),
            reverse=order == "desc",
        )
    elif default_order is not None:
        key, descending = default_order
        chosen.sort(key=lambda r: _sort_key(r.get(key)), reverse=descending)
    return chosen


def paginate(items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    """The ``{data, page, pages, results}`` envelope; page sizes stay constant across pages."""
    page = _int_param(query, "page", 1)
    size = _int_param(query, "page_size", DEFAULT_PAGE_SIZE)
    if page < 1:
        raise bad_request("page must be 1 or greater", "page")
    if not MIN_PAGE_SIZE <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"page_size must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}", "page_size")
    start = (page - 1) * size
    return {
        "data": items[start : start + size],
        "page": page,
        "pages": max(1, math.ceil(len(items) / size)),
        "results": len(items),
    }


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer", name) from None


def _matches(record: Any, flt: dict[str, Any]) -> bool:
    for key, condition in flt.items():
        if key in _IGNORED_KEYS:
            continue
        if key in ("+and", "+or"):
            if not isinstance(condition, list) or not all(isinstance(c, dict) for c in condition):
                raise bad_request(f"{key} takes a list of filters", "X-Filter")
            results = (_matches(record, c) for c in condition)
            if not (all(results) if key == "+and" else any(results)):
                return False
        elif key.startswith("+"):
            raise bad_request(f"Unknown filter operator {key}", "X-Filter")
        elif not _field_matches(record, key, condition):
            return False
    return True


def _field_matches(record: Any, path: str, condition: Any) -> bool:
    value = _lookup(record, path)
    if not isinstance(condition, dict):
        return _equals(value, condition)
    operators = {k: v for k, v in condition.items() if k.startswith("+")}
    if not operators:
        return isinstance(value, dict) and _matches(value, condition)
    return all(_apply(op, value, operand, path) for op, operand in operators.items())


def _apply(op: str, value: Any, operand: Any, path: str) -> bool:
    if op == "+neq":
        return not _equals(value, operand)
    if op == "+contains":
        if isinstance(value, list):
            return any(str(operand) in str(v) for v in value)
        return value is not None and str(operand) in str(value)
    comparisons = {
        "+gt": lambda a, b: a > b,
        "+gte": lambda a, b: a >= b,
        "+lt": lambda a, b: a < b,
        "+lte": lambda a, b: a <= b,
    }
    if op not in comparisons:
        raise bad_request(f"Unknown filter operator {op} on {path}", "X-Filter")
    try:
        return value is not None and bool(comparisons[op](value, operand))
    except TypeError:
        return False


def _equals(value: Any, expected: Any) -> bool:
    if isinstance(value, list) and not isinstance(expected, list):
        return expected in value
    return bool(value == expected)


def _lookup(record: Any, path: str) -> Any:
    current = record
    for part in path.split("."):
        if current is None:
            return None
        found = current.get(part, _MISSING) if isinstance(current, dict) else _MISSING
        if found is _MISSING:
            raise bad_request(f"Cannot filter on {path}", "X-Filter")
        current = found
    return current


def _sort_key(value: Any) -> tuple[bool, Any]:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    return (value is None, value if value is not None else 0)

"""Compare a live database with the expected schema and report the differences readably.

The bot adopts a database the panel built, so before touching it, `csbot db check` and
`csbot migrate` ask: can the bot work here, and where does it differ from the reference?
The expected side is the SQLAlchemy `metadata` (tables, columns, constraints, indexes) plus
`bot.db.panel_objects` (functions, triggers, RLS). The live side comes from `bot.db.catalog`.

Severities:

* ``incompatible``: the bot cannot work (missing table or column, wrong type, no
  ``uuid_generate_v4()`` for id defaults);
* ``drift``: differs from the reference but usable (missing index/trigger/function/policy/
  constraint, default or nullability differences, a constraint defined differently);
* ``extra``: objects the reference does not have (e.g. a later SkyPanelV2 database):
  informational only.

PostgreSQL rewrites what it stores (``IN (...)`` becomes ``= ANY (ARRAY[...])``, defaults gain
casts and parentheses), and the rewriting changes between versions, so expressions are
compared in a normalised form rather than as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ClauseElement, TextClause, UnaryExpression
from sqlalchemy.sql.operators import desc_op
from sqlalchemy.sql.schema import DefaultClause

from bot.db import bot_schema, panel_objects
from bot.db.catalog import LiveConstraint, LiveIndex, LivePolicy, LiveSchema, read_live_schema
from bot.db.panel_objects import FunctionSpec, PolicySpec, RlsSpec, TriggerSpec
from bot.db.schema import metadata

Severity = Literal["incompatible", "drift", "extra"]

SEVERITY_ORDER: tuple[Severity, ...] = ("incompatible", "drift", "extra")
_SEVERITY_HEADINGS: dict[Severity, str] = {
    "incompatible": "Incompatible (the bot cannot work with this database)",
    "drift": "Drift (differs from the reference, still usable)",
    "extra": "Extra (not in the reference, informational)",
}
#: Tables that exist in a bot database but are not part of any schema description.
IGNORED_TABLES: frozenset[str] = frozenset({"alembic_version"})

_DIALECT = postgresql.dialect()


@dataclass(frozen=True)
class DriftItem:
    """One difference between the live database and the expected schema."""

    severity: Severity
    object: str
    message: str


@dataclass(frozen=True)
class DriftReport:
    """All differences found; `checked_tables` names what was compared (for the summary)."""

    items: tuple[DriftItem, ...]
    checked_tables: tuple[str, ...] = field(default=())

    @property
    def is_compatible(self) -> bool:
        """True when nothing stops the bot from working (no ``incompatible`` item)."""
        return not any(item.severity == "incompatible" for item in self.items)

    @property
    def has_drift(self) -> bool:
        """True when anything differs from the reference beyond mere extras."""
        return any(item.severity in ("incompatible", "drift") for item in self.items)

    def of(self, severity: Severity) -> tuple[DriftItem, ...]:
        """The items of one severity, in discovery order."""
        return tuple(item for item in self.items if item.severity == severity)

    def render(self) -> str:
        """Grouped, one line per item, plus a one-line summary."""
        scope = f"{len(self.checked_tables)} tables" if self.checked_tables else "the checked tables"
        extras = self.of("extra")
        if not self.has_drift:
            line = f"No drift: {scope} match the expected schema"
            if extras:
                line += f"; {len(extras)} extra object(s), informational"
            return "\n".join([line + ".", *(f"  + {item.object}: {item.message}" for item in extras)])
        lines: list[str] = []
        for severity in SEVERITY_ORDER:
            group = self.of(severity)
            if not group:
                continue
            lines.append(f"{_SEVERITY_HEADINGS[severity]}:")
            marker = {"incompatible": "!", "drift": "~", "extra": "+"}[severity]
            lines.extend(f"  {marker} {item.object}: {item.message}" for item in group)
        counts = ", ".join(f"{len(self.of(severity))} {severity}" for severity in SEVERITY_ORDER)
        verdict = "compatible" if self.is_compatible else "NOT compatible"
        lines.append(f"Summary: {counts} across {scope}; {verdict}.")
        return "\n".join(lines)


async def inspect_drift(
    conn: AsyncConnection, *, tables: Iterable[Table] | None = None, check_objects: bool = True
) -> DriftReport:
    """Compare the live database behind `conn` with the expected schema.

    `tables` defaults to every table in `metadata` (panel and bot tables alike);
    `check_objects` also checks the panel's functions, triggers, RLS and ``uuid_generate_v4()``,
    and, when the bot's tables are among `tables`, the bot's own trigger function and triggers.
    """
    selected = tuple(tables) if tables is not None else tuple(metadata.sorted_tables)
    with_bot = any(table in bot_schema.BOT_TABLES for table in selected)
    functions, _ = _expected_objects(with_bot=with_bot)
    function_names = [spec.name for spec in (*functions, *panel_objects.EXTENSION_FUNCTIONS)]
    items: list[DriftItem] = []
    for schema in sorted({table.schema or "public" for table in selected} or {"public"}):
        live = await read_live_schema(conn, schema=schema, function_names=function_names if check_objects else ())
        in_schema = [table for table in selected if (table.schema or "public") == schema]
        items.extend(
            compare_schema(in_schema, live, check_objects=check_objects and schema == "public", with_bot=with_bot)
        )
    return DriftReport(tuple(items), tuple(table.name for table in selected))


def _expected_objects(*, with_bot: bool) -> tuple[tuple[FunctionSpec, ...], tuple[TriggerSpec, ...]]:
    """The panel's functions and triggers, plus the bot's own once its tables are expected too."""
    if not with_bot:
        return panel_objects.FUNCTIONS, panel_objects.TRIGGERS
    return (
        (*panel_objects.FUNCTIONS, *bot_schema.BOT_FUNCTIONS),
        (*panel_objects.TRIGGERS, *bot_schema.BOT_TRIGGERS),
    )


def compare_schema(
    tables: Sequence[Table], live: LiveSchema, *, check_objects: bool = True, with_bot: bool = False
) -> list[DriftItem]:
    """All differences between `tables` (plus panel objects, and the bot's with `with_bot`) and one live schema."""
    items: list[DriftItem] = []
    for table in tables:
        items.extend(_compare_table(table, live))
    items.extend(_extra_tables(live))
    if check_objects:
        names = {table.name for table in tables if table.name in live.tables}
        functions, triggers = _expected_objects(with_bot=with_bot)
        items.extend(_compare_functions(functions, live))
        items.extend(_compare_extension_functions(panel_objects.EXTENSION_FUNCTIONS, live))
        items.extend(_compare_triggers(triggers, live, names))
        items.extend(_compare_rls(panel_objects.RLS, live, names))
    return sorted(items, key=lambda item: SEVERITY_ORDER.index(item.severity))


# --------------------------------------------------------------------------------------------
# Normalisation: make PostgreSQL's stored forms and hand-written SQL comparable
# --------------------------------------------------------------------------------------------

_QUOTED = re.compile(r"'(?:[^']|'')*'")
_MULTIWORD_TYPES = (
    "character varying",
    "timestamp with time zone",
    "timestamp without time zone",
    "time with time zone",
    "time without time zone",
    "double precision",
    "bit varying",
)
_CAST = re.compile(
    r"::\s*(?:"
    + "|".join(name.replace(" ", r"\s+") for name in _MULTIWORD_TYPES)
    + r"|\"?[a-z_][a-z0-9_]*\"?(?:\.\"?[a-z_][a-z0-9_]*\"?)?)"
    + r"(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?(?:\s*\[\s*\])*"
)
_SCHEMA_QUALIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\.(?=[a-z_][a-z0-9_]*\s*\()")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_NUMBER = re.compile(r"'?-?\d+(?:\.\d+)?'?")
# PostgreSQL stores `x IN (a, b)` as `x = ANY (ARRAY[a, b])` (and NOT IN as `<> ALL`).
_ARRAY_BODY = r"\[((?:'(?:[^']|'')*'|[^\]'])*)\]"
_ANY_ARRAY = re.compile(r"=anyarray" + _ARRAY_BODY)
_ALL_ARRAY = re.compile(r"<>allarray" + _ARRAY_BODY)

_TYPE_SYNONYMS = {
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "decimal": "numeric",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "bool": "boolean",
    "float": "double precision",
    "float8": "double precision",
    "float4": "real",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
}
_TYPE_SHAPE = re.compile(
    r"(?P<base>[a-z][a-z0-9_ ]*?)\s*(?:\((?P<args>[^)]*)\))?\s*"
    r"(?P<zone>with(?:out)? time zone)?\s*(?P<array>(?:\[\])*)"
)


def _split_literals(expr: str) -> list[tuple[bool, str]]:
    """`expr` cut into (is_quoted_literal, text) pieces, so rewrites never touch literals."""
    pieces: list[tuple[bool, str]] = []
    position = 0
    for match in _QUOTED.finditer(expr):
        pieces.append((False, expr[position : match.start()]))
        pieces.append((True, match.group()))
        position = match.end()
    pieces.append((False, expr[position:]))
    return pieces


def _clean_code(code: str) -> str:
    """Lower-case SQL outside literals without casts, schema qualifiers or identifier quotes."""
    code = _CAST.sub("", code.lower())
    code = _SCHEMA_QUALIFIER.sub("", code).replace('"', "")
    return re.sub(r"\bcurrent_timestamp\b(?!\s*\()", "now()", code)


def normalize_expr(expr: str | None) -> str | None:
    """A canonical form of a SQL expression: no casts, parentheses, whitespace or case changes.

    ``'user'::character varying`` and ``('user')`` both become ``'user'``; PostgreSQL's
    ``(user_id = (current_setting('x'::text, true))::uuid)`` equals the hand-written
    ``user_id = current_setting('x', true)::uuid``, and ``= ANY (ARRAY[...])`` equals ``IN (...)``.
    """
    if expr is None:
        return None
    pieces = [text if quoted else re.sub(r"[\s()]", "", _clean_code(text)) for quoted, text in _split_literals(expr)]
    joined = "".join(pieces)
    joined = _ANY_ARRAY.sub(lambda match: "in" + match.group(1), joined)
    return _ALL_ARRAY.sub(lambda match: "notin" + match.group(1), joined)


def expr_terms(expr: str) -> tuple[frozenset[str], frozenset[str]]:
    """The quoted literals and the bare identifiers an expression mentions."""
    literals: set[str] = set()
    identifiers: set[str] = set()
    for quoted, text in _split_literals(expr):
        if quoted:
            literals.add(text[1:-1].replace("''", "'"))
        else:
            identifiers.update(_IDENTIFIER.findall(_clean_code(text)))
    return frozenset(literals), frozenset(identifiers)


def same_default(expected: str | None, found: str | None) -> bool:
    """Defaults are equal after normalising; numbers compare by value (``0`` equals ``0.00``)."""
    left, right = normalize_expr(expected), normalize_expr(found)
    if left == right:
        return True
    if left is None or right is None:
        return False
    if _NUMBER.fullmatch(left) and _NUMBER.fullmatch(right):
        try:
            return Decimal(left.strip("'")) == Decimal(right.strip("'"))
        except InvalidOperation:
            return False
    return False


def normalize_type(type_sql: str) -> str:
    """A type in `format_type` spelling: ``VARCHAR(255)`` → ``character varying(255)``."""
    compact = " ".join(type_sql.lower().replace('"', "").split())
    match = _TYPE_SHAPE.fullmatch(compact)
    if match is None:
        return compact
    base = _TYPE_SYNONYMS.get(match["base"], match["base"])
    args = f"({match['args'].replace(' ', '')})" if match["args"] else ""
    zone = match["zone"] or ""
    if base in ("timestamp", "time"):
        zone = zone or "without time zone"
    elif base in ("timestamp with time zone", "timestamp without time zone"):
        base, zone = base.split(" ", 1)
    suffix = f" {zone}" if zone else ""
    return f"{base}{args}{suffix}{match['array'] or ''}"


def _varchar_length(type_sql: str) -> int | None:
    match = re.fullmatch(r"character varying\((\d+)\)", type_sql)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------------------------
# The expected side, derived from SQLAlchemy metadata
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Constraint:
    """A constraint in comparable form (expected or live)."""

    name: str | None
    kind: str
    columns: tuple[str, ...]
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    on_delete: str = ""
    check: str | None = None

    def signature(self, table_columns: frozenset[str]) -> tuple[object, ...]:
        """What makes two constraints equivalent whatever their names or spelling."""
        if self.kind == "c":
            literals, identifiers = expr_terms(self.check or "")
            return ("c", literals, identifiers & table_columns)
        if self.kind == "f":
            return ("f", self.columns, self.ref_table, self.ref_columns, self.on_delete)
        return (self.kind, self.columns)

    def describe(self) -> str:
        """SQL-like one-liner for messages."""
        columns = ", ".join(self.columns)
        if self.kind == "p":
            return f"PRIMARY KEY ({columns})"
        if self.kind == "u":
            return f"UNIQUE ({columns})"
        if self.kind == "f":
            action = f" ON DELETE {self.on_delete}" if self.on_delete != "NO ACTION" else ""
            return f"FOREIGN KEY ({columns}) REFERENCES {self.ref_table}({', '.join(self.ref_columns)}){action}"
        return f"CHECK ({self.check})"


@dataclass(frozen=True)
class _Index:
    """An index in comparable form (expected or live)."""

    name: str | None
    columns: tuple[str, ...]
    unique: bool
    predicate: str | None
    method: str = "btree"

    def signature(self) -> tuple[object, ...]:
        return (
            tuple(normalize_expr(column) for column in self.columns),
            self.unique,
            normalize_expr(self.predicate),
            self.method,
        )

    def describe(self, table: str) -> str:
        kind = "UNIQUE index" if self.unique else "index"
        using = f" USING {self.method}" if self.method != "btree" else ""
        where = f" WHERE {self.predicate}" if self.predicate else ""
        return f"{kind} on {table}{using} ({', '.join(self.columns)}){where}"


def _compile(element: ClauseElement) -> str:
    if isinstance(element, TextClause):
        return element.text
    return str(element.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _expected_type(column: Column) -> str:
    return normalize_type(column.type.compile(dialect=_DIALECT))


def _expected_default(column: Column) -> str | None:
    """The server default as SQL text; a plain string default is a quoted literal."""
    default = column.server_default
    if not isinstance(default, DefaultClause):
        return None
    if isinstance(default.arg, str):
        return "'" + default.arg.replace("'", "''") + "'"
    return _compile(default.arg)


def _is_generated_key(column: Column) -> bool:
    """SERIAL/IDENTITY columns get their default from PostgreSQL, not from the metadata."""
    if column.identity is not None:
        return True
    table = column.table
    return column.server_default is None and isinstance(table, Table) and table.autoincrement_column is column


def _expected_constraints(table: Table) -> list[_Constraint]:
    constraints: list[_Constraint] = []
    for constraint in table.constraints:
        name = constraint.name if isinstance(constraint.name, str) else None
        columns = tuple(column.name for column in constraint.columns)
        if isinstance(constraint, PrimaryKeyConstraint):
            if columns:
                constraints.append(_Constraint(name, "p", columns))
        elif isinstance(constraint, UniqueConstraint):
            constraints.append(_Constraint(name, "u", columns))
        elif isinstance(constraint, ForeignKeyConstraint):
            constraints.append(
                _Constraint(
                    name,
                    "f",
                    tuple(element.parent.name for element in constraint.elements),
                    constraint.referred_table.name,
                    tuple(element.column.name for element in constraint.elements),
                    (constraint.ondelete or "NO ACTION").upper(),
                )
            )
        elif isinstance(constraint, CheckConstraint):
            constraints.append(_Constraint(name, "c", (), check=_compile(constraint.sqltext)))
    return constraints


def _index_column(expression: ClauseElement) -> str:
    if isinstance(expression, Column):
        return expression.name
    if isinstance(expression, UnaryExpression) and expression.modifier is desc_op:
        return f"{_index_column(expression.element)} DESC"
    return _compile(expression)


def _expected_indexes(table: Table) -> list[_Index]:
    indexes: list[_Index] = []
    for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
        options = index.dialect_options["postgresql"]
        where = options.get("where")
        indexes.append(
            _Index(
                name=index.name if isinstance(index.name, str) else None,
                columns=tuple(_index_column(expression) for expression in index.expressions),
                unique=bool(index.unique),
                predicate=_compile(where) if where is not None else None,
                method=(options.get("using") or "btree").lower(),
            )
        )
    return indexes


def _live_constraint(constraint: LiveConstraint) -> _Constraint:
    check = None
    if constraint.kind == "c":
        check = re.sub(r"^CHECK\s*", "", constraint.definition)
        check = re.sub(r"\s*NOT VALID$", "", check)
    return _Constraint(
        constraint.name,
        constraint.kind,
        constraint.columns,
        constraint.ref_table,
        constraint.ref_columns,
        constraint.on_delete,
        check,
    )


def _live_index(index: LiveIndex) -> _Index:
    return _Index(index.name, index.columns, index.unique, index.predicate, index.method)


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def _compare_table(table: Table, live: LiveSchema) -> list[DriftItem]:
    if table.name not in live.tables:
        return [
            DriftItem(
                "incompatible",
                f"table {table.name}",
                f"missing (expected {len(table.columns)} columns)",
            )
        ]
    return [
        *_compare_columns(table, live),
        *_compare_constraints(table, live),
        *_compare_indexes(table, live),
    ]


def _describe_column(type_sql: str, not_null: bool, default: str | None) -> str:
    parts = [type_sql, "NOT NULL" if not_null else "NULL"]
    if default is not None:
        parts.append(f"DEFAULT {default}")
    return " ".join(parts)


def _compare_columns(table: Table, live: LiveSchema) -> list[DriftItem]:
    items: list[DriftItem] = []
    live_columns = live.columns.get(table.name, {})
    for column in table.columns:
        where = f"{table.name}.{column.name}"
        expected_type = _expected_type(column)
        expected_default = _expected_default(column)
        found = live_columns.get(column.name)
        if found is None:
            described = _describe_column(expected_type, not column.nullable, expected_default)
            items.append(DriftItem("incompatible", where, f"missing column (expected {described})"))
            continue
        items.extend(_compare_type(where, expected_type, found.type))
        if found.not_null != (not column.nullable):
            expected_null = "NOT NULL" if not column.nullable else "nullable"
            found_null = "NOT NULL" if found.not_null else "nullable"
            items.append(DriftItem("drift", where, f"expected {expected_null}, found {found_null}"))
        if _is_generated_key(column):
            continue
        if not same_default(expected_default, found.default):
            items.append(
                DriftItem(
                    "drift",
                    where,
                    f"default expected {expected_default or 'none'}, found {found.default or 'none'}",
                )
            )
    known = {column.name for column in table.columns}
    for name, found in live_columns.items():
        if name in known:
            continue
        message = f"extra column {_describe_column(found.type, found.not_null, found.default)}"
        if found.not_null and found.default is None:
            message += " (inserts that omit it will fail)"
        items.append(DriftItem("extra", f"{table.name}.{name}", message))
    return items


def _compare_type(where: str, expected: str, found: str) -> list[DriftItem]:
    found_normal = normalize_type(found)
    if found_normal == expected:
        return []
    wanted, actual = _varchar_length(expected), _varchar_length(found_normal)
    if wanted is not None and actual is not None and actual > wanted:
        return [DriftItem("drift", where, f"type expected {expected}, found wider {found}")]
    return [DriftItem("incompatible", where, f"type expected {expected}, found {found}")]


def _constraint_object(table: str, constraint: _Constraint) -> str:
    if constraint.name:
        return f"constraint {constraint.name} on {table}"
    return f"{constraint.describe()} on {table}"


def _compare_constraints(table: Table, live: LiveSchema) -> list[DriftItem]:
    table_columns = frozenset(column.name for column in table.columns) | frozenset(live.columns.get(table.name, {}))
    expected = _expected_constraints(table)
    found = [_live_constraint(c) for c in live.constraints if c.table == table.name]
    items: list[DriftItem] = []
    unmatched = {c.name: c for c in found}
    pending: list[_Constraint] = []
    for want in expected:
        have = unmatched.pop(want.name, None) if want.name else None
        if have is None:
            pending.append(want)
            continue
        if want.signature(table_columns) != have.signature(table_columns):
            items.append(
                DriftItem(
                    "drift",
                    _constraint_object(table.name, want),
                    f"defined differently: expected {want.describe()}, found {have.describe()}",
                )
            )
    for want in pending:
        twin = next(
            (have for have in unmatched.values() if have.signature(table_columns) == want.signature(table_columns)),
            None,
        )
        if twin is not None:
            del unmatched[twin.name]
            if want.name:
                items.append(
                    DriftItem(
                        "drift",
                        _constraint_object(table.name, want),
                        f"not found by name; the same {want.describe()} exists as {twin.name}",
                    )
                )
            continue
        items.append(DriftItem("drift", _constraint_object(table.name, want), f"missing: {want.describe()}"))
    items.extend(
        DriftItem("extra", _constraint_object(table.name, have), f"not in the reference: {have.describe()}")
        for have in unmatched.values()
    )
    return items


def _compare_indexes(table: Table, live: LiveSchema) -> list[DriftItem]:
    expected = _expected_indexes(table)
    unmatched = {index.name: _live_index(index) for index in live.indexes if index.table == table.name}
    items: list[DriftItem] = []
    pending: list[_Index] = []
    for want in expected:
        have = unmatched.pop(want.name, None) if want.name else None
        if have is None:
            pending.append(want)
        elif want.signature() != have.signature():
            items.append(
                DriftItem(
                    "drift",
                    f"index {want.name}",
                    f"defined differently: expected {want.describe(table.name)}, found {have.describe(table.name)}",
                )
            )
    for want in pending:
        twin = next((have for have in unmatched.values() if have.signature() == want.signature()), None)
        if twin is not None:
            del unmatched[twin.name]
            if want.name:
                items.append(
                    DriftItem(
                        "drift",
                        f"index {want.name}",
                        f"not found by name; the same {want.describe(table.name)} exists as {twin.name}",
                    )
                )
            continue
        label = f"index {want.name}" if want.name else want.describe(table.name)
        items.append(DriftItem("drift", label, f"missing: expected {want.describe(table.name)}"))
    items.extend(
        DriftItem("extra", f"index {have.name}", f"not in the reference: {have.describe(table.name)}")
        for have in unmatched.values()
    )
    return items


def _extra_tables(live: LiveSchema) -> list[DriftItem]:
    known = {table.name for table in metadata.tables.values() if (table.schema or "public") == live.schema}
    return [
        DriftItem(
            "extra",
            f"table {name}",
            f"not in the expected schema ({len(live.columns.get(name, {}))} column(s))",
        )
        for name in sorted(live.tables)
        if name not in known and name not in IGNORED_TABLES
    ]


def _compare_functions(specs: Sequence[FunctionSpec], live: LiveSchema) -> list[DriftItem]:
    items: list[DriftItem] = []
    for spec in specs:
        candidates = [f for f in live.functions if f.name == spec.name and f.schema == spec.schema]
        match = next((f for f in candidates if f.args == spec.args), None)
        where = f"function {spec.signature}"
        if match is None:
            if candidates:
                found = ", ".join(f"{f.name}({', '.join(f.args)})" for f in candidates)
                items.append(DriftItem("drift", where, f"missing; found other signature(s): {found}"))
            else:
                items.append(DriftItem("drift", where, f"missing in schema {spec.schema}"))
        elif normalize_type(match.returns) != normalize_type(spec.returns):
            items.append(DriftItem("drift", where, f"returns {match.returns}, expected {spec.returns}"))
    return items


def _compare_extension_functions(specs: Sequence[FunctionSpec], live: LiveSchema) -> list[DriftItem]:
    """These back column defaults (and the bot's own tables), so a missing one is incompatible."""
    items: list[DriftItem] = []
    for spec in specs:
        found = any(f.name == spec.name and f.args == spec.args for f in live.functions)
        if not found:
            items.append(
                DriftItem(
                    "incompatible",
                    f"function {spec.signature}",
                    "missing: install the uuid-ossp extension or run the baseline's fallback",
                )
            )
    return items


def _compare_triggers(specs: Sequence[TriggerSpec], live: LiveSchema, tables: set[str]) -> list[DriftItem]:
    items: list[DriftItem] = []
    unmatched = {(t.table, t.name): t for t in live.triggers if t.table in tables}
    for spec in specs:
        if spec.table not in tables:
            continue
        where = f"trigger {spec.name} on {spec.table}"
        have = unmatched.pop((spec.table, spec.name), None)
        if have is None:
            items.append(
                DriftItem(
                    "drift",
                    where,
                    f"missing: expected {spec.timing} {' OR '.join(spec.events)} "
                    f"FOR EACH {'ROW' if spec.for_each_row else 'STATEMENT'} EXECUTE {spec.function}()",
                )
            )
            continue
        problems = []
        if have.timing != spec.timing:
            problems.append(f"timing {have.timing} instead of {spec.timing}")
        if set(have.events) != set(spec.events):
            problems.append(f"events {' OR '.join(have.events)} instead of {' OR '.join(spec.events)}")
        if have.function != spec.function:
            problems.append(f"calls {have.function}() instead of {spec.function}()")
        if have.for_each_row != spec.for_each_row:
            problems.append("row/statement level differs")
        if not have.enabled:
            problems.append("disabled")
        if problems:
            items.append(DriftItem("drift", where, "; ".join(problems)))
    items.extend(
        DriftItem(
            "extra",
            f"trigger {have.name} on {have.table}",
            f"not in the reference: {have.timing} {' OR '.join(have.events)} EXECUTE {have.function}()",
        )
        for have in unmatched.values()
    )
    return items


def _compare_rls(specs: Sequence[RlsSpec], live: LiveSchema, tables: set[str]) -> list[DriftItem]:
    items: list[DriftItem] = []
    by_table = {spec.table: spec for spec in specs}
    for name in sorted(tables):
        table = live.tables[name]
        spec = by_table.get(name, RlsSpec(name, enabled=False, forced=False, policies=()))
        where = f"row-level security on {name}"
        if table.rls_enabled != spec.enabled:
            state = "enabled" if table.rls_enabled else "disabled"
            items.append(DriftItem("drift", where, f"{state}; the reference has it {_on_off(spec.enabled)}"))
        if table.rls_forced != spec.forced:
            state = "forced" if table.rls_forced else "not forced"
            items.append(DriftItem("drift", where, f"{state}; the reference has forced={spec.forced}"))
        items.extend(_compare_policies(spec, [p for p in live.policies if p.table == name]))
    return items


def _on_off(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"


def _compare_policies(spec: RlsSpec, found: Sequence[LivePolicy]) -> list[DriftItem]:
    unmatched = {policy.name: policy for policy in found}
    items: list[DriftItem] = []
    for want in spec.policies:
        where = f'policy "{want.name}" on {spec.table}'
        have = unmatched.pop(want.name, None)
        if have is None:
            items.append(DriftItem("drift", where, f"missing: expected {_describe_policy(want)}"))
            continue
        problems = []
        if have.command != want.command:
            problems.append(f"FOR {have.command} instead of FOR {want.command}")
        if have.permissive != want.permissive:
            problems.append("RESTRICTIVE" if want.permissive else "PERMISSIVE")
        if set(have.roles) != set(want.roles):
            problems.append(f"roles {', '.join(have.roles)} instead of {', '.join(want.roles)}")
        if normalize_expr(have.using) != normalize_expr(want.using):
            problems.append(f"USING {have.using} instead of {want.using}")
        if normalize_expr(have.with_check) != normalize_expr(want.with_check):
            problems.append(f"WITH CHECK {have.with_check} instead of {want.with_check}")
        if problems:
            items.append(DriftItem("drift", where, "; ".join(problems)))
    items.extend(
        DriftItem("extra", f'policy "{have.name}" on {spec.table}', f"not in the reference: FOR {have.command}")
        for have in unmatched.values()
    )
    return items


def _describe_policy(policy: PolicySpec) -> str:
    kind = "PERMISSIVE" if policy.permissive else "RESTRICTIVE"
    text = f"{kind} FOR {policy.command} TO {', '.join(policy.roles)}"
    if policy.using:
        text += f" USING ({policy.using})"
    if policy.with_check:
        text += f" WITH CHECK ({policy.with_check})"
    return text


__all__ = [
    "DriftItem",
    "DriftReport",
    "Severity",
    "compare_schema",
    "inspect_drift",
    "normalize_expr",
    "normalize_type",
    "same_default",
]

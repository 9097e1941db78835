"""Read a live schema from `pg_catalog` in a few set-based queries (PostgreSQL 15–18).

The drift checker compares these facts with the expected schema. Each query returns one kind
of object for a whole schema, so a check costs a handful of round trips whatever the table
count. Only catalog facts are read here; comparing and judging lives in `bot.db.drift`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class LiveColumn:
    """A column as the catalog describes it (`type` is `format_type` output)."""

    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True)
class LiveConstraint:
    """A PK (`p`), unique (`u`), FK (`f`) or CHECK (`c`) constraint.

    `on_delete` is the FK action in words (``NO ACTION``, ``CASCADE``…), empty for other kinds.
    """

    name: str
    table: str
    kind: str
    columns: tuple[str, ...]
    ref_table: str | None
    ref_columns: tuple[str, ...]
    on_delete: str
    definition: str


@dataclass(frozen=True)
class LiveIndex:
    """An index that does not back a PK/unique constraint; `columns` carry a ``DESC`` suffix."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    predicate: str | None
    method: str = "btree"


@dataclass(frozen=True)
class LiveTrigger:
    """A user trigger (internal FK triggers are excluded)."""

    name: str
    table: str
    timing: str
    events: tuple[str, ...]
    function: str
    for_each_row: bool
    enabled: bool


@dataclass(frozen=True)
class LiveFunction:
    """A function with its argument types and result type."""

    schema: str
    name: str
    args: tuple[str, ...]
    returns: str


@dataclass(frozen=True)
class LivePolicy:
    """A row-level security policy as `pg_policies` shows it."""

    table: str
    name: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class LiveTable:
    """A table with its row-level security flags."""

    name: str
    rls_enabled: bool
    rls_forced: bool


@dataclass(frozen=True)
class LiveSchema:
    """Everything the drift checker needs to know about one schema of a live database."""

    schema: str
    tables: dict[str, LiveTable]
    columns: dict[str, dict[str, LiveColumn]]
    constraints: tuple[LiveConstraint, ...]
    indexes: tuple[LiveIndex, ...]
    triggers: tuple[LiveTrigger, ...]
    functions: tuple[LiveFunction, ...]
    policies: tuple[LivePolicy, ...]


_TABLES_SQL = text(
    """
    SELECT c.relname AS name, c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')
    """
)

_COLUMNS_SQL = text(
    """
    SELECT c.relname AS table_name,
           a.attname AS name,
           format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null,
           pg_get_expr(d.adbin, d.adrelid) AS default_expr
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum
    """
)

# contype 'n' (NOT NULL constraints, listed since PostgreSQL 18) and 't' (constraint triggers)
# are left out: nullability is read from pg_attribute, the same on every version.
_CONSTRAINTS_SQL = text(
    """
    SELECT con.conname AS name,
           rel.relname AS table_name,
           con.contype::text AS kind,
           ARRAY(SELECT a.attname::text
                   FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, pos)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                  ORDER BY k.pos) AS columns,
           frel.relname AS ref_table,
           ARRAY(SELECT a.attname::text
                   FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, pos)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                  ORDER BY k.pos) AS ref_columns,
           CASE con.confdeltype
                WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE '' END AS on_delete,
           pg_get_constraintdef(con.oid, true) AS definition
      FROM pg_constraint con
      JOIN pg_class rel ON rel.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = rel.relnamespace
      LEFT JOIN pg_class frel ON frel.oid = con.confrelid
     WHERE n.nspname = :schema AND con.contype IN ('p', 'u', 'f', 'c')
     ORDER BY rel.relname, con.conname
    """
)

# indoption bit 0 marks a DESC key column; int2vector subscripts start at 0.
_INDEXES_SQL = text(
    """
    SELECT i.relname AS name,
           t.relname AS table_name,
           x.indisunique AS is_unique,
           am.amname AS method,
           pg_get_expr(x.indpred, x.indrelid) AS predicate,
           ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
                        || CASE WHEN (x.indoption[k - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                   FROM generate_series(1, x.indnkeyatts) AS k
                  ORDER BY k) AS columns
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_am am ON am.oid = i.relam
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = :schema
       AND t.relkind IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                        WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                          AND c.contype IN ('p', 'u', 'x'))
     ORDER BY t.relname, i.relname
    """
)

_TRIGGERS_SQL = text(
    """
    SELECT t.tgname AS name, c.relname AS table_name, p.proname AS function,
           t.tgtype::int AS tgtype, t.tgenabled::text AS enabled
      FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_proc p ON p.oid = t.tgfoid
     WHERE n.nspname = :schema AND NOT t.tgisinternal
     ORDER BY c.relname, t.tgname
    """
)

_FUNCTIONS_SQL = text(
    """
    SELECT n.nspname AS schema, p.proname AS name,
           oidvectortypes(p.proargtypes) AS args,
           pg_get_function_result(p.oid) AS returns
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proname IN :names
       AND (n.nspname = :schema OR pg_function_is_visible(p.oid))
     ORDER BY n.nspname, p.proname
    """
).bindparams(bindparam("names", expanding=True))

_POLICIES_SQL = text(
    """
    SELECT tablename AS table_name, policyname AS name, cmd AS command,
           permissive = 'PERMISSIVE' AS permissive, roles::text[] AS roles,
           qual AS using_expr, with_check AS check_expr
      FROM pg_policies
     WHERE schemaname = :schema
     ORDER BY tablename, policyname
    """
)

_TRIGGER_ROW = 1 << 0
_TRIGGER_BEFORE = 1 << 1
_TRIGGER_INSTEAD = 1 << 6
_TRIGGER_EVENT_BITS = (("INSERT", 1 << 2), ("DELETE", 1 << 3), ("UPDATE", 1 << 4), ("TRUNCATE", 1 << 5))


def _split_args(args: str) -> tuple[str, ...]:
    """`oidvectortypes` output (``uuid, uuid``) as a tuple; no argument type contains a comma."""
    return tuple(part.strip() for part in args.split(",") if part.strip())


def _trigger_timing(tgtype: int) -> str:
    if tgtype & _TRIGGER_INSTEAD:
        return "INSTEAD OF"
    return "BEFORE" if tgtype & _TRIGGER_BEFORE else "AFTER"


def _trigger_events(tgtype: int) -> tuple[str, ...]:
    return tuple(name for name, bit in _TRIGGER_EVENT_BITS if tgtype & bit)


async def read_live_schema(
    conn: AsyncConnection, *, schema: str = "public", function_names: Iterable[str] = ()
) -> LiveSchema:
    """All tables, columns, constraints, indexes, triggers and policies of `schema`.

    Functions are read only for `function_names` (in `schema` or visible on the search path),
    since a schema may hold hundreds of unrelated ones.
    """
    params = {"schema": schema}
    tables = {
        row.name: LiveTable(row.name, row.rls_enabled, row.rls_forced)
        for row in await conn.execute(_TABLES_SQL, params)
    }
    columns: dict[str, dict[str, LiveColumn]] = {}
    for row in await conn.execute(_COLUMNS_SQL, params):
        columns.setdefault(row.table_name, {})[row.name] = LiveColumn(
            row.name, row.type, row.not_null, row.default_expr
        )
    constraints = tuple(
        LiveConstraint(
            name=row.name,
            table=row.table_name,
            kind=row.kind,
            columns=tuple(row.columns),
            ref_table=row.ref_table,
            ref_columns=tuple(row.ref_columns),
            on_delete=row.on_delete if row.kind == "f" else "",
            definition=row.definition,
        )
        for row in await conn.execute(_CONSTRAINTS_SQL, params)
    )
    indexes = tuple(
        LiveIndex(row.name, row.table_name, tuple(row.columns), row.is_unique, row.predicate, row.method)
        for row in await conn.execute(_INDEXES_SQL, params)
    )
    triggers = tuple(
        LiveTrigger(
            name=row.name,
            table=row.table_name,
            timing=_trigger_timing(row.tgtype),
            events=_trigger_events(row.tgtype),
            function=row.function,
            for_each_row=bool(row.tgtype & _TRIGGER_ROW),
            enabled=row.enabled != "D",
        )
        for row in await conn.execute(_TRIGGERS_SQL, params)
    )
    names = sorted(set(function_names))
    functions: tuple[LiveFunction, ...] = ()
    if names:
        functions = tuple(
            LiveFunction(row.schema, row.name, _split_args(row.args), row.returns)
            for row in await conn.execute(_FUNCTIONS_SQL, {"schema": schema, "names": names})
        )
    policies = tuple(
        LivePolicy(
            table=row.table_name,
            name=row.name,
            command=row.command,
            permissive=row.permissive,
            roles=tuple(row.roles),
            using=row.using_expr,
            with_check=row.check_expr,
        )
        for row in await conn.execute(_POLICIES_SQL, params)
    )
    return LiveSchema(schema, tables, columns, constraints, indexes, triggers, functions, policies)

"""Panel baseline: build the ContainerStacks schema exactly as the panel's own migrations leave it.

Revision ID: 0001_panel_baseline
Revises:
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision: str = "0001_panel_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

SQL_FILE = Path(__file__).resolve().parent.parent / "sql" / "0001_panel_baseline.sql"

#: Everything the baseline creates, dropped in one go (tables together, so their FKs need no
#: CASCADE: anything else depending on them makes the downgrade fail loudly instead).
DOWNGRADE_STATEMENTS: tuple[str, ...] = (
    """
    DROP TABLE IF EXISTS
        activity_logs, support_ticket_replies, support_tickets, vps_billing_cycles,
        payment_transactions, networking_config, vps_stackscript_configs, vps_plans,
        service_providers, vps_instances, container_plans, container_pricing_config,
        containers, user_api_keys, wallets, organization_members, organizations, users
    """,
    "DROP FUNCTION IF EXISTS mark_all_notifications_read(uuid)",
    "DROP FUNCTION IF EXISTS mark_notification_read(uuid, uuid)",
    "DROP FUNCTION IF EXISTS notify_ticket_status_change()",
    "DROP FUNCTION IF EXISTS notify_new_ticket_message()",
    "DROP FUNCTION IF EXISTS notify_new_activity()",
    "DROP FUNCTION IF EXISTS update_updated_at_column()",
    # The fallback uuid_generate_v4() is ours only when no extension owns it.
    """
    DO $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname = 'uuid_generate_v4' AND p.pronargs = 0
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                  AND d.deptype = 'e')
        ) THEN
            DROP FUNCTION public.uuid_generate_v4();
        END IF;
    END
    $$
    """,
    'DROP EXTENSION IF EXISTS "uuid-ossp"',
)


def split_sql_statements(script: str) -> list[str]:
    """Cut a SQL script at top-level semicolons, leaving quoted text and `$tag$` bodies whole.

    asyncpg prepares every statement it is given, and a prepared statement may hold only one
    command, so the script is sent one statement at a time. Comment-only pieces are dropped.
    """
    statements: list[str] = []
    start = index = 0
    length = len(script)
    while index < length:
        char = script[index]
        if script.startswith("--", index):
            newline = script.find("\n", index)
            index = length if newline == -1 else newline + 1
        elif script.startswith("/*", index):
            close = script.find("*/", index + 2)
            index = length if close == -1 else close + 2
        elif char in ("'", '"'):
            index = _end_of_quoted(script, index, char)
        elif char == "$" and (tag := _dollar_tag(script, index)):
            close = script.find(tag, index + len(tag))
            index = length if close == -1 else close + len(tag)
        elif char == ";":
            statements.append(script[start:index])
            index += 1
            start = index
        else:
            index += 1
    statements.append(script[start:])
    return [statement.strip() for statement in statements if _has_code(statement)]


def _end_of_quoted(script: str, index: int, quote: str) -> int:
    """Index just past the quoted text opening at `index` (a doubled quote is an escaped one)."""
    position = index + 1
    while True:
        close = script.find(quote, position)
        if close == -1:
            return len(script)
        if script.startswith(quote * 2, close):
            position = close + 2
            continue
        return close + 1


def _dollar_tag(script: str, index: int) -> str | None:
    """The `$tag$` opening a dollar-quoted string at `index`, or None (e.g. `$1`, `$2a$`)."""
    close = script.find("$", index + 1)
    if close == -1:
        return None
    tag = script[index : close + 1]
    body = tag[1:-1]
    if body == "" or (body.replace("_", "a").isalnum() and not body[0].isdigit()):
        return tag
    return None


def _has_code(statement: str) -> bool:
    lines = (line.strip() for line in statement.splitlines())
    return any(line and not line.startswith("--") for line in lines)


def upgrade() -> None:
    """Create the panel schema, its functions, triggers, RLS policy and seed rows."""
    bind = op.get_bind()
    for statement in split_sql_statements(SQL_FILE.read_text(encoding="utf-8")):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Drop everything the baseline created (for tests; never run against a panel database)."""
    bind = op.get_bind()
    for statement in DOWNGRADE_STATEMENTS:
        bind.exec_driver_sql(statement)

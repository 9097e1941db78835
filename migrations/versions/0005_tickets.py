"""Support tickets: Slack threads and cards mapped to panel tickets and replies, assignments, SLA state.

Revision ID: 0005_tickets
Revises: 0004_payments

Bot tables only, plus one additive trigger function (`csbot_notify_ticket`) that announces every
ticket insert/update and reply insert on the fixed channel `csbot_tickets`; the panel's own notify
functions and triggers are untouched.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005_tickets"
down_revision: str | None = "0004_payments"
branch_labels: str | None = None
depends_on: str | None = None

_TABLES = (
    """
    CREATE TABLE bot_settings (
        key VARCHAR(100) NOT NULL,
        value TEXT NOT NULL,
        updated_by UUID,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_settings_pkey PRIMARY KEY (key)
    )
    """,
    """
    CREATE TABLE bot_ticket_threads (
        id BIGSERIAL,
        ticket_id UUID NOT NULL,
        kind VARCHAR(16) NOT NULL,
        target VARCHAR(64) NOT NULL,
        outbox_id BIGINT,
        channel_id VARCHAR(64),
        ts VARCHAR(32),
        root_hash VARCHAR(32),
        root_seq INTEGER NOT NULL DEFAULT 0,
        status_seen VARCHAR(50),
        note_seq INTEGER NOT NULL DEFAULT 0,
        link_url TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_ticket_threads_pkey PRIMARY KEY (id),
        CONSTRAINT bot_ticket_threads_ticket_id_kind_key UNIQUE (ticket_id, kind),
        CONSTRAINT bot_ticket_threads_channel_id_ts_key UNIQUE (channel_id, ts),
        CONSTRAINT bot_ticket_threads_kind_check CHECK (kind IN ('triage', 'requester')),
        CONSTRAINT bot_ticket_threads_ticket_id_fkey FOREIGN KEY (ticket_id)
            REFERENCES support_tickets (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX idx_bot_ticket_threads_unresolved ON bot_ticket_threads (outbox_id) WHERE ts IS NULL",
    """
    CREATE TABLE bot_ticket_reply_mirrors (
        reply_id UUID NOT NULL,
        thread_id BIGINT NOT NULL,
        origin BOOLEAN NOT NULL DEFAULT false,
        slack_ts VARCHAR(32),
        outbox_id BIGINT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_ticket_reply_mirrors_pkey PRIMARY KEY (reply_id, thread_id),
        CONSTRAINT bot_ticket_reply_mirrors_thread_id_slack_ts_key UNIQUE (thread_id, slack_ts),
        CONSTRAINT bot_ticket_reply_mirrors_reply_id_fkey FOREIGN KEY (reply_id)
            REFERENCES support_ticket_replies (id) ON DELETE CASCADE,
        CONSTRAINT bot_ticket_reply_mirrors_thread_id_fkey FOREIGN KEY (thread_id)
            REFERENCES bot_ticket_threads (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE bot_ticket_assignments (
        ticket_id UUID NOT NULL,
        assignee_id UUID NOT NULL,
        assigned_by UUID,
        assigned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_ticket_assignments_pkey PRIMARY KEY (ticket_id),
        CONSTRAINT bot_ticket_assignments_ticket_id_fkey FOREIGN KEY (ticket_id)
            REFERENCES support_tickets (id) ON DELETE CASCADE,
        CONSTRAINT bot_ticket_assignments_assignee_id_fkey FOREIGN KEY (assignee_id)
            REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX idx_bot_ticket_assignments_assignee_id ON bot_ticket_assignments (assignee_id)",
    """
    CREATE TABLE bot_ticket_sla_reminders (
        ticket_id UUID NOT NULL,
        kind VARCHAR(32) NOT NULL,
        due_at TIMESTAMPTZ NOT NULL,
        notified_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_ticket_sla_reminders_pkey PRIMARY KEY (ticket_id, kind),
        CONSTRAINT bot_ticket_sla_reminders_ticket_id_fkey FOREIGN KEY (ticket_id)
            REFERENCES support_tickets (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE bot_ticket_digests (
        digest_date VARCHAR(10) NOT NULL,
        posted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_ticket_digests_pkey PRIMARY KEY (digest_date)
    )
    """,
)

_NOTIFY_FUNCTION = """
CREATE FUNCTION csbot_notify_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'support_tickets' THEN
        PERFORM pg_notify('csbot_tickets', json_build_object(
            'type', lower(TG_OP), 'ticket_id', NEW.id, 'status', NEW.status)::text);
    ELSE
        PERFORM pg_notify('csbot_tickets', json_build_object(
            'type', 'reply', 'ticket_id', NEW.ticket_id, 'reply_id', NEW.id)::text);
    END IF;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    """Bot tables and the bot's own notify trigger on the two ticket tables."""
    for statement in _TABLES:
        op.execute(statement)
    op.execute(_NOTIFY_FUNCTION)
    op.execute(
        "CREATE TRIGGER csbot_tickets_notify AFTER INSERT OR UPDATE ON support_tickets "
        "FOR EACH ROW EXECUTE FUNCTION csbot_notify_ticket()"
    )
    op.execute(
        "CREATE TRIGGER csbot_ticket_replies_notify AFTER INSERT ON support_ticket_replies "
        "FOR EACH ROW EXECUTE FUNCTION csbot_notify_ticket()"
    )


def downgrade() -> None:
    """Drop the bot's triggers, function and tables (panel tickets and replies stay)."""
    op.execute("DROP TRIGGER IF EXISTS csbot_ticket_replies_notify ON support_ticket_replies")
    op.execute("DROP TRIGGER IF EXISTS csbot_tickets_notify ON support_tickets")
    op.execute("DROP FUNCTION IF EXISTS csbot_notify_ticket()")
    for table in (
        "bot_ticket_digests",
        "bot_ticket_sla_reminders",
        "bot_ticket_assignments",
        "bot_ticket_reply_mirrors",
        "bot_ticket_threads",
        "bot_settings",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")

"""Distributed mode: the app installed into many Slack workspaces (issue 19).

Revision ID: 0014_workspaces
Revises: 0013_slack_polish

`bot_slack_installations` keeps one row per workspace (or Enterprise Grid org, for an org-wide
install: `team_id` ''), its bot token and refresh token sealed with SLACK_TOKEN_KEY
(`bot.slack.token_crypto`), and `version`, bumped by every change so a replica can tell its cached
copy is stale. An uninstalled workspace keeps its row (`uninstalled_at`), so a reinstall brings it
back. `bot_slack_oauth_states` holds the single-use OAuth `state` values. `bot_slack_conversations`
remembers which workspace a channel or user id belongs to, so queued work finds its token.
`bot_outbox` rows carry the workspace they are for (NULL: the configured or home workspace), and
channel bindings of an uninstalled workspace are disabled rather than deleted. Bot tables only.
"""

from __future__ import annotations

from alembic import op

revision: str = "0014_workspaces"
down_revision: str | None = "0013_slack_polish"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """New tables, and nullable columns on existing ones (old rows mean "the configured workspace")."""
    op.execute(
        """
        CREATE TABLE bot_slack_installations (
            id BIGSERIAL,
            enterprise_id VARCHAR(32) NOT NULL DEFAULT '',
            team_id VARCHAR(32) NOT NULL DEFAULT '',
            is_enterprise_install BOOLEAN NOT NULL DEFAULT false,
            enterprise_name VARCHAR(255),
            team_name VARCHAR(255),
            app_id VARCHAR(32),
            bot_id VARCHAR(32) NOT NULL,
            bot_user_id VARCHAR(32) NOT NULL,
            bot_token BYTEA NOT NULL,
            bot_refresh_token BYTEA,
            bot_token_expires_at TIMESTAMPTZ,
            bot_scopes TEXT NOT NULL DEFAULT '',
            installer_user_id VARCHAR(32),
            installed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            uninstalled_at TIMESTAMPTZ,
            uninstall_reason VARCHAR(32),
            version INTEGER NOT NULL DEFAULT 1,
            CONSTRAINT bot_slack_installations_pkey PRIMARY KEY (id),
            CONSTRAINT bot_slack_installations_workspace_key UNIQUE (enterprise_id, team_id),
            CONSTRAINT bot_slack_installations_scope_check CHECK (
                (is_enterprise_install AND team_id = '' AND enterprise_id <> '')
                OR (NOT is_enterprise_install AND team_id <> '')
            ),
            CONSTRAINT bot_slack_installations_reason_check CHECK (
                uninstall_reason IN ('app_uninstalled', 'tokens_revoked')
            )
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bot_slack_oauth_states (
            state VARCHAR(64) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            expires_at TIMESTAMPTZ NOT NULL,
            consumed_at TIMESTAMPTZ,
            CONSTRAINT bot_slack_oauth_states_pkey PRIMARY KEY (state)
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_slack_oauth_states_expires_at ON bot_slack_oauth_states (expires_at)")
    op.execute(
        """
        CREATE TABLE bot_slack_conversations (
            conversation_id VARCHAR(32) NOT NULL,
            enterprise_id VARCHAR(32) NOT NULL DEFAULT '',
            team_id VARCHAR(32) NOT NULL,
            seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT bot_slack_conversations_pkey PRIMARY KEY (conversation_id)
        )
        """
    )
    op.execute("ALTER TABLE bot_outbox ADD COLUMN enterprise_id VARCHAR(32), ADD COLUMN team_id VARCHAR(32)")
    op.execute("ALTER TABLE bot_channel_bindings ADD COLUMN disabled_at TIMESTAMPTZ")


def downgrade() -> None:
    """Drop the workspaces (their tokens are gone: distributed mode needs every workspace to reinstall)."""
    op.execute("ALTER TABLE bot_channel_bindings DROP COLUMN disabled_at")
    op.execute("ALTER TABLE bot_outbox DROP COLUMN team_id, DROP COLUMN enterprise_id")
    op.execute("DROP TABLE bot_slack_conversations")
    op.execute("DROP TABLE bot_slack_oauth_states")
    op.execute("DROP TABLE bot_slack_installations")

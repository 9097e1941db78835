"""Slack identities linked to panel users, link tokens, login throttling, channel bindings, invites.

Revision ID: 0003_identity_orgs
Revises: 0002_bot_foundation
"""

from __future__ import annotations

from alembic import op

revision: str = "0003_identity_orgs"
down_revision: str | None = "0002_bot_foundation"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Bot tables only; the FKs into users/organizations are additive and cascade like the panel's."""
    op.execute(
        """
        CREATE TABLE bot_slack_identities (
            id BIGSERIAL,
            enterprise_id VARCHAR(32) NOT NULL DEFAULT '',
            team_id VARCHAR(32) NOT NULL,
            slack_user_id VARCHAR(32) NOT NULL,
            user_id UUID NOT NULL,
            linked_via VARCHAR(16) NOT NULL,
            active_organization_id UUID,
            linked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT bot_slack_identities_pkey PRIMARY KEY (id),
            CONSTRAINT bot_slack_identities_slack_key UNIQUE (enterprise_id, team_id, slack_user_id),
            CONSTRAINT bot_slack_identities_user_id_fkey FOREIGN KEY (user_id)
                REFERENCES users (id) ON DELETE CASCADE,
            CONSTRAINT bot_slack_identities_active_organization_id_fkey FOREIGN KEY (active_organization_id)
                REFERENCES organizations (id) ON DELETE SET NULL,
            CONSTRAINT bot_slack_identities_linked_via_check CHECK (linked_via IN ('password', 'api_key'))
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_slack_identities_user_id ON bot_slack_identities (user_id)")
    op.execute(
        """
        CREATE TABLE bot_link_tokens (
            nonce VARCHAR(64) NOT NULL,
            enterprise_id VARCHAR(32) NOT NULL DEFAULT '',
            team_id VARCHAR(32) NOT NULL,
            slack_user_id VARCHAR(32) NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT bot_link_tokens_pkey PRIMARY KEY (nonce)
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_link_tokens_expires_at ON bot_link_tokens (expires_at)")
    op.execute(
        """
        CREATE TABLE bot_login_attempts (
            key VARCHAR(320) NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            window_started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            locked_until TIMESTAMPTZ,
            CONSTRAINT bot_login_attempts_pkey PRIMARY KEY (key)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bot_channel_bindings (
            team_id VARCHAR(32) NOT NULL,
            channel_id VARCHAR(32) NOT NULL,
            organization_id UUID NOT NULL,
            notify_billing BOOLEAN NOT NULL DEFAULT true,
            notify_vps BOOLEAN NOT NULL DEFAULT true,
            notify_tickets BOOLEAN NOT NULL DEFAULT true,
            created_by UUID,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT bot_channel_bindings_pkey PRIMARY KEY (team_id, channel_id),
            CONSTRAINT bot_channel_bindings_organization_id_fkey FOREIGN KEY (organization_id)
                REFERENCES organizations (id) ON DELETE CASCADE,
            CONSTRAINT bot_channel_bindings_created_by_fkey FOREIGN KEY (created_by)
                REFERENCES users (id) ON DELETE SET NULL
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_channel_bindings_organization_id ON bot_channel_bindings (organization_id)")
    op.execute(
        """
        CREATE TABLE bot_org_invites (
            id BIGSERIAL,
            organization_id UUID NOT NULL,
            enterprise_id VARCHAR(32) NOT NULL DEFAULT '',
            team_id VARCHAR(32) NOT NULL,
            slack_user_id VARCHAR(32) NOT NULL,
            role VARCHAR(16) NOT NULL,
            invited_by UUID,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            accepted_at TIMESTAMPTZ,
            CONSTRAINT bot_org_invites_pkey PRIMARY KEY (id),
            CONSTRAINT bot_org_invites_slack_key UNIQUE (organization_id, enterprise_id, team_id, slack_user_id),
            CONSTRAINT bot_org_invites_organization_id_fkey FOREIGN KEY (organization_id)
                REFERENCES organizations (id) ON DELETE CASCADE,
            CONSTRAINT bot_org_invites_invited_by_fkey FOREIGN KEY (invited_by)
                REFERENCES users (id) ON DELETE SET NULL,
            CONSTRAINT bot_org_invites_role_check CHECK (role IN ('member', 'admin'))
        )
        """
    )
    op.execute(
        "CREATE INDEX idx_bot_org_invites_pending ON bot_org_invites (enterprise_id, team_id, slack_user_id) "
        "WHERE accepted_at IS NULL"
    )


def downgrade() -> None:
    """Drop the identity and organisation tables of the bot."""
    op.execute(
        "DROP TABLE IF EXISTS bot_org_invites, bot_channel_bindings, bot_login_attempts, "
        "bot_link_tokens, bot_slack_identities"
    )

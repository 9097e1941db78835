-- ContainerStacks panel baseline: the final ContainerStacks schema (panel commit 0c6c899),
-- built in one go on an empty database. Written from the schema reference; the DDL uses the
-- panel's inline style so PostgreSQL generates the same constraint names the panel's
-- databases carry (users_role_check, organizations_owner_id_fkey, users_email_key, ...).
-- Constraint names the panel spelled out itself are spelled out here too.
--
-- Statements are separated by semicolons at top level; function bodies use $$ quoting.
-- The Alembic revision 0001_panel_baseline runs this file statement by statement.

-- ---------------------------------------------------------------------------------------
-- Extensions
-- ---------------------------------------------------------------------------------------

-- uuid-ossp provides uuid_generate_v4(), the default of almost every id column. Embedded
-- PostgreSQL builds ship no contrib and some hosted roles may not create extensions, so a
-- failure here is only noted; the next block then supplies a compatible function.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
EXCEPTION
    WHEN undefined_file OR feature_not_supported OR insufficient_privilege THEN
        RAISE NOTICE 'uuid-ossp unavailable: defining uuid_generate_v4() on gen_random_uuid()';
END
$$;

-- BEGIN uuid_generate_v4 fallback
DO $$
BEGIN
    IF to_regprocedure('uuid_generate_v4()') IS NULL THEN
        CREATE FUNCTION public.uuid_generate_v4() RETURNS uuid
            LANGUAGE sql VOLATILE PARALLEL SAFE
            AS 'SELECT gen_random_uuid()';
    END IF;
END
$$;
-- END uuid_generate_v4 fallback

-- ---------------------------------------------------------------------------------------
-- Shared trigger function (001, redefined identically by 004)
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- ---------------------------------------------------------------------------------------
-- Tables (column order as the panel's migration sequence leaves it)
-- ---------------------------------------------------------------------------------------

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    email VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    role VARCHAR(50) DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    phone VARCHAR(50),
    timezone VARCHAR(100),
    preferences JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    reset_token VARCHAR(255),
    reset_expires TIMESTAMP
);

CREATE TABLE organizations (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) UNIQUE NOT NULL,
    owner_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    settings JSONB DEFAULT '{}',
    website VARCHAR(500),
    address TEXT,
    tax_id VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE organization_members (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role VARCHAR(50) DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(organization_id, user_id)
);

CREATE TABLE wallets (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    balance DECIMAL(10,2) DEFAULT 0.00,
    currency VARCHAR(3) DEFAULT 'USD',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE user_api_keys (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_name VARCHAR(255) NOT NULL,
    key_hash VARCHAR(255) NOT NULL,
    key_prefix VARCHAR(255) NOT NULL,
    permissions JSONB DEFAULT '{}',
    last_used_at TIMESTAMP WITH TIME ZONE,
    expires_at TIMESTAMP WITH TIME ZONE,
    active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE containers (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    name VARCHAR(255) NOT NULL,
    image VARCHAR(500) NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    config JSONB DEFAULT '{}',
    status VARCHAR(50) DEFAULT 'stopped',
    created_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE vps_instances (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    plan_id VARCHAR(255) NOT NULL,
    provider_instance_id VARCHAR(255) NOT NULL,
    label VARCHAR(255) NOT NULL,
    status VARCHAR(50) DEFAULT 'provisioning',
    ip_address INET,
    configuration JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    last_billed_at TIMESTAMP WITH TIME ZONE,
    provider_type VARCHAR(50)
);

CREATE TABLE support_tickets (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_by UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subject VARCHAR(500) NOT NULL,
    message TEXT NOT NULL,
    status VARCHAR(50) DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    priority VARCHAR(50) DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    category VARCHAR(100) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    has_staff_reply BOOLEAN DEFAULT FALSE
);

CREATE TABLE support_ticket_replies (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    ticket_id UUID NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message TEXT NOT NULL,
    is_staff_reply BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE payment_transactions (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    amount DECIMAL(10,2) NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD',
    payment_method VARCHAR(50) NOT NULL,
    payment_provider VARCHAR(50) NOT NULL,
    provider_transaction_id VARCHAR(255),
    status VARCHAR(50) DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
    description TEXT,
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE container_pricing_config (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    price_per_cpu NUMERIC(10,2) NOT NULL DEFAULT 0,
    price_per_ram_gb NUMERIC(10,2) NOT NULL DEFAULT 0,
    price_per_storage_gb NUMERIC(10,2) NOT NULL DEFAULT 0,
    price_per_network_mbps NUMERIC(10,2) NOT NULL DEFAULT 0,
    currency VARCHAR(10) NOT NULL DEFAULT 'USD',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE container_plans (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    name VARCHAR(255) NOT NULL,
    cpu_cores INTEGER NOT NULL,
    ram_gb INTEGER NOT NULL,
    storage_gb INTEGER NOT NULL,
    network_mbps INTEGER NOT NULL DEFAULT 0,
    base_price NUMERIC(10,2) NOT NULL DEFAULT 0,
    markup_price NUMERIC(10,2) NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE service_providers (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    name VARCHAR(255) NOT NULL,
    type VARCHAR(50) NOT NULL,
    api_key_encrypted TEXT NOT NULL,
    configuration JSONB NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT service_providers_type_check CHECK (type IN ('linode', 'digitalocean', 'aws', 'gcp'))
);

-- The provider FK keeps 003's definition (ON DELETE SET NULL) and name: 005 re-declared the
-- column with ADD COLUMN IF NOT EXISTS, which PostgreSQL skipped whole.
CREATE TABLE vps_plans (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    name VARCHAR(255) NOT NULL,
    provider_plan_id VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    provider_id UUID,
    base_price NUMERIC(10,2),
    markup_price NUMERIC(10,2) DEFAULT 0,
    specifications JSONB NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    CONSTRAINT vps_plans_provider_id_fkey
        FOREIGN KEY (provider_id) REFERENCES service_providers(id) ON DELETE SET NULL
);

CREATE TABLE activity_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID,
    organization_id UUID,
    event_type VARCHAR(100) NOT NULL,
    entity_type VARCHAR(100) NOT NULL,
    entity_id VARCHAR(255),
    message TEXT,
    status VARCHAR(50) DEFAULT 'info' CHECK (status IN ('success', 'warning', 'error', 'info')),
    ip_address VARCHAR(64),
    user_agent TEXT,
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    is_read BOOLEAN DEFAULT FALSE,
    read_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT activity_logs_user_or_system_check
        CHECK (user_id IS NOT NULL OR (user_id IS NULL AND entity_type = 'system'))
);

CREATE TABLE vps_billing_cycles (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    vps_instance_id UUID NOT NULL REFERENCES vps_instances(id) ON DELETE CASCADE,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    billing_period_start TIMESTAMP WITH TIME ZONE NOT NULL,
    billing_period_end TIMESTAMP WITH TIME ZONE NOT NULL,
    hourly_rate DECIMAL(10,4) NOT NULL,
    total_amount DECIMAL(10,2) NOT NULL,
    status VARCHAR(50) DEFAULT 'pending' CHECK (status IN ('pending', 'billed', 'failed', 'refunded')),
    payment_transaction_id UUID REFERENCES payment_transactions(id),
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE vps_stackscript_configs (
    stackscript_id INTEGER PRIMARY KEY,
    label TEXT,
    description TEXT,
    is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    display_order INTEGER NOT NULL DEFAULT 0,
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE networking_config (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    rdns_base_domain TEXT NOT NULL DEFAULT 'ip.rev.skyvps360.xyz',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- ---------------------------------------------------------------------------------------
-- Indexes
-- ---------------------------------------------------------------------------------------

CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_reset_token ON users(reset_token) WHERE reset_token IS NOT NULL;
CREATE INDEX idx_organizations_slug ON organizations(slug);
CREATE INDEX idx_organizations_owner_id ON organizations(owner_id);
CREATE INDEX idx_organization_members_org_id ON organization_members(organization_id);
CREATE INDEX idx_organization_members_user_id ON organization_members(user_id);
CREATE INDEX idx_wallets_org_id ON wallets(organization_id);
CREATE INDEX idx_user_api_keys_user_id ON user_api_keys(user_id);
CREATE INDEX idx_user_api_keys_active ON user_api_keys(active);
CREATE INDEX idx_containers_org_id ON containers(organization_id);
CREATE INDEX idx_containers_created_by ON containers(created_by);
CREATE INDEX idx_vps_instances_org_id ON vps_instances(organization_id);
CREATE INDEX idx_vps_instances_last_billed_at ON vps_instances(last_billed_at);
CREATE INDEX idx_vps_instances_provider_type ON vps_instances(provider_type);
CREATE INDEX idx_support_tickets_org_id ON support_tickets(organization_id);
CREATE INDEX idx_support_tickets_created_by ON support_tickets(created_by);
CREATE INDEX idx_support_tickets_status ON support_tickets(status);
CREATE INDEX idx_support_tickets_has_staff_reply ON support_tickets(has_staff_reply);
CREATE INDEX idx_support_ticket_replies_ticket_id ON support_ticket_replies(ticket_id);
CREATE INDEX idx_support_ticket_replies_created_at ON support_ticket_replies(created_at);
CREATE INDEX idx_payment_transactions_org_id ON payment_transactions(organization_id);
CREATE INDEX idx_vps_plans_provider_id ON vps_plans(provider_id);
CREATE INDEX idx_vps_plans_active ON vps_plans(active);
CREATE INDEX idx_activity_logs_user_id ON activity_logs(user_id);
CREATE INDEX idx_activity_logs_org_id ON activity_logs(organization_id);
CREATE INDEX idx_activity_logs_created_at ON activity_logs(created_at);
CREATE INDEX idx_activity_logs_event_type ON activity_logs(event_type);
CREATE INDEX idx_activity_logs_is_read ON activity_logs(user_id, is_read, created_at DESC);
CREATE INDEX idx_vps_billing_cycles_vps_id ON vps_billing_cycles(vps_instance_id);
CREATE INDEX idx_vps_billing_cycles_org_id ON vps_billing_cycles(organization_id);
CREATE INDEX idx_vps_billing_cycles_period ON vps_billing_cycles(billing_period_start, billing_period_end);
CREATE INDEX idx_vps_billing_cycles_status ON vps_billing_cycles(status);
CREATE INDEX idx_vps_billing_cycles_created_at ON vps_billing_cycles(created_at);
CREATE INDEX idx_vps_stackscript_configs_enabled ON vps_stackscript_configs(is_enabled);
CREATE INDEX idx_vps_stackscript_configs_order ON vps_stackscript_configs(display_order);

-- ---------------------------------------------------------------------------------------
-- updated_at triggers (vps_stackscript_configs deliberately has none)
-- ---------------------------------------------------------------------------------------

CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_organizations_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_wallets_updated_at BEFORE UPDATE ON wallets
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_user_api_keys_updated_at BEFORE UPDATE ON user_api_keys
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_containers_updated_at BEFORE UPDATE ON containers
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_vps_instances_updated_at BEFORE UPDATE ON vps_instances
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_support_tickets_updated_at BEFORE UPDATE ON support_tickets
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_vps_plans_updated_at BEFORE UPDATE ON vps_plans
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_payment_transactions_updated_at BEFORE UPDATE ON payment_transactions
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_container_pricing_config_updated_at BEFORE UPDATE ON container_pricing_config
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_container_plans_updated_at BEFORE UPDATE ON container_plans
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_service_providers_updated_at BEFORE UPDATE ON service_providers
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_vps_billing_cycles_updated_at BEFORE UPDATE ON vps_billing_cycles
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_networking_config_updated_at BEFORE UPDATE ON networking_config
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- ---------------------------------------------------------------------------------------
-- Notifications (008, filtering from 009) and ticket chat (009)
-- ---------------------------------------------------------------------------------------

-- Only user-relevant events reach the `new_activity` channel (009's list); everything else
-- (logout, admin operations, impersonation, rate limits, theme, ...) stays silent.
CREATE OR REPLACE FUNCTION notify_new_activity()
RETURNS TRIGGER AS $$
BEGIN
    IF NEW.event_type IN (
        'vps.create', 'vps.boot', 'vps.shutdown', 'vps.reboot', 'vps.delete',
        'vps.backups.enable', 'vps.backups.disable', 'vps.backups.schedule',
        'vps.backups.snapshot', 'vps.backups.restore',
        'vps.firewall.attach', 'vps.firewall.detach',
        'vps.network.rdns', 'vps.hostname.update',
        'auth.login',
        'api_key.create', 'api_key.revoke',
        'ticket_reply',
        'user_update'
    ) THEN
        PERFORM pg_notify('new_activity', json_build_object(
            'id', NEW.id,
            'user_id', NEW.user_id,
            'organization_id', NEW.organization_id,
            'event_type', NEW.event_type,
            'entity_type', NEW.entity_type,
            'entity_id', NEW.entity_id,
            'message', NEW.message,
            'status', NEW.status,
            'created_at', NEW.created_at,
            'is_read', NEW.is_read
        )::text);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER activity_notify_trigger AFTER INSERT ON activity_logs
    FOR EACH ROW EXECUTE FUNCTION notify_new_activity();

-- A reply is announced on the ticket's channel and on its organisation's channel; a staff
-- reply also flags the ticket as answered.
CREATE OR REPLACE FUNCTION notify_new_ticket_message()
RETURNS TRIGGER AS $$
DECLARE
    ticket_org_id UUID;
    payload TEXT;
BEGIN
    SELECT organization_id INTO ticket_org_id FROM support_tickets WHERE id = NEW.ticket_id;

    payload := json_build_object(
        'type', 'ticket_message',
        'ticket_id', NEW.ticket_id,
        'message_id', NEW.id,
        'organization_id', ticket_org_id,
        'is_staff_reply', NEW.is_staff_reply,
        'message', NEW.message,
        'created_at', NEW.created_at
    )::text;

    PERFORM pg_notify('ticket_' || NEW.ticket_id::text, payload);
    PERFORM pg_notify('org_tickets_' || ticket_org_id::text, payload);

    IF NEW.is_staff_reply = TRUE THEN
        UPDATE support_tickets SET has_staff_reply = TRUE WHERE id = NEW.ticket_id;
    END IF;

    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trigger_notify_ticket_message AFTER INSERT ON support_ticket_replies
    FOR EACH ROW EXECUTE FUNCTION notify_new_ticket_message();

CREATE OR REPLACE FUNCTION notify_ticket_status_change()
RETURNS TRIGGER AS $$
DECLARE
    payload TEXT;
BEGIN
    IF OLD.status IS DISTINCT FROM NEW.status THEN
        payload := json_build_object(
            'type', 'ticket_status_change',
            'ticket_id', NEW.id,
            'organization_id', NEW.organization_id,
            'old_status', OLD.status,
            'new_status', NEW.status,
            'updated_at', NEW.updated_at
        )::text;

        PERFORM pg_notify('ticket_' || NEW.id::text, payload);
        PERFORM pg_notify('org_tickets_' || NEW.organization_id::text, payload);
    END IF;

    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trigger_notify_ticket_status AFTER UPDATE ON support_tickets
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_status_change();

CREATE OR REPLACE FUNCTION mark_notification_read(notification_id UUID, user_id_param UUID)
RETURNS BOOLEAN AS $$
DECLARE
    changed INTEGER;
BEGIN
    UPDATE activity_logs
       SET is_read = TRUE, read_at = now()
     WHERE id = notification_id AND user_id = user_id_param AND is_read = FALSE;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed > 0;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION mark_all_notifications_read(user_id_param UUID)
RETURNS INTEGER AS $$
DECLARE
    changed INTEGER;
BEGIN
    UPDATE activity_logs
       SET is_read = TRUE, read_at = now()
     WHERE user_id = user_id_param AND is_read = FALSE;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$ LANGUAGE plpgsql;

-- ---------------------------------------------------------------------------------------
-- Row-level security on user_api_keys (004): enabled, not forced, one permissive policy
-- ---------------------------------------------------------------------------------------

ALTER TABLE user_api_keys ENABLE ROW LEVEL SECURITY;

CREATE POLICY "Users can manage their own API keys" ON user_api_keys
    FOR ALL USING (user_id = current_setting('app.current_user_id', true)::UUID);

-- ---------------------------------------------------------------------------------------
-- Seed (001): admin user, admin organisation, owner membership, empty wallet.
-- The hash is bcrypt cost 12 with the bcryptjs `$2a$` prefix and verifies `admin123`
-- (the panel's own seed hash does not verify; see the schema reference §4).
-- ---------------------------------------------------------------------------------------

INSERT INTO users (email, password_hash, name, role)
VALUES (
    'admin@containerstacks.com',
    '$2a$12$mhOf.CPyr5vMp2inbLVjv.st1O89u69drbjAsKn5/GVH0jSj.U7Ue',
    'System Administrator',
    'admin'
)
ON CONFLICT (email) DO NOTHING;

INSERT INTO organizations (name, slug, owner_id)
SELECT 'ContainerStacks Admin', 'containerstacks-admin', u.id
  FROM users u
 WHERE u.email = 'admin@containerstacks.com'
ON CONFLICT (slug) DO NOTHING;

INSERT INTO organization_members (organization_id, user_id, role)
SELECT o.id, u.id, 'owner'
  FROM organizations o
  JOIN users u ON u.email = 'admin@containerstacks.com'
 WHERE o.slug = 'containerstacks-admin'
ON CONFLICT (organization_id, user_id) DO NOTHING;

-- wallets has no unique key besides the PK, so ON CONFLICT alone would not keep this
-- idempotent; the NOT EXISTS guard does.
INSERT INTO wallets (organization_id, balance)
SELECT o.id, 0.00
  FROM organizations o
 WHERE o.slug = 'containerstacks-admin'
   AND NOT EXISTS (SELECT 1 FROM wallets w WHERE w.organization_id = o.id)
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------
-- Seed (014): an inactive DigitalOcean provider and eight DigitalOcean plans, as every
-- ContainerStacks database that ran 014 before the rename has them.
-- ---------------------------------------------------------------------------------------

INSERT INTO service_providers (name, type, api_key_encrypted, configuration, active)
SELECT 'DigitalOcean', 'digitalocean', '', '{}', FALSE
 WHERE NOT EXISTS (SELECT 1 FROM service_providers WHERE type = 'digitalocean');

INSERT INTO vps_plans (provider_id, name, provider_plan_id, base_price, markup_price, specifications, active)
SELECT p.id, plan.name, plan.slug, plan.base_price, plan.markup_price, plan.specifications::jsonb, TRUE
  FROM (SELECT id FROM service_providers WHERE type = 'digitalocean' ORDER BY created_at LIMIT 1) AS p
 CROSS JOIN (VALUES
    ('Basic Droplet 1GB', 's-1vcpu-1gb', 6.00, 2.00,
     '{"vcpus": 1, "memory": 1024, "disk": 25, "transfer": 1000, "price_monthly": 6.00, "price_hourly": 0.00893}'),
    ('Basic Droplet 2GB', 's-1vcpu-2gb', 12.00, 3.00,
     '{"vcpus": 1, "memory": 2048, "disk": 50, "transfer": 2000, "price_monthly": 12.00, "price_hourly": 0.01786}'),
    ('Basic Droplet 4GB', 's-2vcpu-4gb', 24.00, 6.00,
     '{"vcpus": 2, "memory": 4096, "disk": 80, "transfer": 4000, "price_monthly": 24.00, "price_hourly": 0.03571}'),
    ('General Purpose 8GB', 's-4vcpu-8gb', 48.00, 12.00,
     '{"vcpus": 4, "memory": 8192, "disk": 160, "transfer": 5000, "price_monthly": 48.00, "price_hourly": 0.07143}'),
    ('General Purpose 16GB', 's-8vcpu-16gb', 96.00, 24.00,
     '{"vcpus": 8, "memory": 16384, "disk": 320, "transfer": 6000, "price_monthly": 96.00, "price_hourly": 0.14286}'),
    ('CPU-Optimized 4GB', 'c-2', 42.00, 10.00,
     '{"vcpus": 2, "memory": 4096, "disk": 25, "transfer": 4000, "price_monthly": 42.00, "price_hourly": 0.0625}'),
    ('CPU-Optimized 8GB', 'c-4', 84.00, 20.00,
     '{"vcpus": 4, "memory": 8192, "disk": 50, "transfer": 5000, "price_monthly": 84.00, "price_hourly": 0.125}'),
    ('Memory-Optimized 16GB', 'm-2vcpu-16gb', 120.00, 30.00,
     '{"vcpus": 2, "memory": 16384, "disk": 50, "transfer": 5000, "price_monthly": 120.00, "price_hourly": 0.17857}')
 ) AS plan(name, slug, base_price, markup_price, specifications)
 WHERE NOT EXISTS (
    SELECT 1 FROM vps_plans v WHERE v.provider_id = p.id AND v.provider_plan_id = plan.slug
 );

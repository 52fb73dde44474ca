-- Users, organizations, memberships and the audit trail.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    subject             text NOT NULL UNIQUE,
    email               text,
    email_verified      boolean NOT NULL DEFAULT false,
    name                text,
    mfa_enrolled        boolean NOT NULL DEFAULT false,
    last_sign_in_method text,
    -- What member search matches: kept by PostgreSQL, served by a trigram index.
    search_text         text GENERATED ALWAYS AS (lower(coalesce(name, '') || ' ' || coalesce(email, ''))) STORED,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX users_search_text_trgm ON users USING gin (search_text gin_trgm_ops);

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    domain      text,
    logo_url    text,
    timezone    text,
    address     jsonb,
    version     bigint NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);
-- Names and slugs are unique among live organizations; deleting one frees both.
CREATE UNIQUE INDEX organizations_name_live_key ON organizations (lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX organizations_slug_live_key ON organizations (slug) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    role        text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_-]{0,39}$'),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT memberships_org_user_key UNIQUE (org_id, user_id)
);
-- Keyset pages of one organization's members, optionally by role (ids are UUIDv7: join order).
CREATE INDEX memberships_org_page ON memberships (org_id, id);
CREATE INDEX memberships_org_role_page ON memberships (org_id, role, id);
-- A user's organizations in join order; `me` is the first live one.
CREATE INDEX memberships_user_page ON memberships (user_id, id);

CREATE TABLE audit_events (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations (id),
    -- Position in the organization's hash chain: 1, 2, 3, … with no gaps.
    seq          bigint NOT NULL CHECK (seq > 0),
    actor_type   text NOT NULL,
    actor_id     text NOT NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    changes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id   text,
    client_ip    inet,
    user_agent   text,
    occurred_at  timestamptz NOT NULL,
    -- hash = SHA-256(prev_hash || canonical record); prev_hash of seq 1 is the chain's anchor.
    prev_hash    bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash         bytea NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT audit_events_org_seq_key UNIQUE (org_id, seq)
);
-- One index per filter path, each ending in seq so pages continue by keyset, newest first.
CREATE INDEX audit_events_org_action ON audit_events (org_id, action text_pattern_ops, seq);
CREATE INDEX audit_events_org_actor ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_events_org_target ON audit_events (org_id, target_id, seq);
CREATE INDEX audit_events_org_time ON audit_events (org_id, occurred_at, seq);

-- The head of each organization's chain, locked by every writer of that organization (and
-- only of that one), so its chain never forks. `base_*` is where verification starts: the
-- zero anchor today, the last removed record's hash once a retention policy prunes.
CREATE TABLE audit_chain_heads (
    org_id     uuid PRIMARY KEY REFERENCES organizations (id),
    seq        bigint NOT NULL,
    hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
    base_seq   bigint NOT NULL DEFAULT 0,
    base_hash  bytea NOT NULL CHECK (octet_length(base_hash) = 32)
);

-- The audit trail is append-only: the database itself refuses to change or remove a record.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
